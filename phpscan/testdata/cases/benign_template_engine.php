<?php
// A template engine compiles templates to PHP and evaluates them: code
// from the application's own files, not from the request.
// want: clean
class Tpl {
    private $dir = '/var/www/templates';
    function render($name, array $vars) {
        $code = file_get_contents($this->dir . '/' . basename($name) . '.tpl');
        $php = preg_replace('/\{\{\s*(\w+)\s*\}\}/', '<?php echo htmlspecialchars($\1); ?>', $code);
        extract($vars);
        eval('?>' . $php);
    }
}
(new Tpl())->render('page', ['title' => $_GET['t']]);
