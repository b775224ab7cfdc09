<?php
// Sends counters to a local statsd daemon over UDP.
class StatsdClient
{
    private $host;
    private $port;

    public function __construct($host = '127.0.0.1', $port = 8125)
    {
        $this->host = $host;
        $this->port = $port;
    }

    public function increment($key, $sampleRate = 1.0)
    {
        $this->send(array($key => '1|c'), $sampleRate);
    }

    private function send(array $data, $sampleRate)
    {
        $fp = @fsockopen('udp://' . $this->host, $this->port, $errno, $errstr, 1);
        if (!$fp) {
            return;
        }
        foreach ($data as $stat => $value) {
            if ($sampleRate < 1 && mt_rand() / mt_getrandmax() > $sampleRate) {
                continue;
            }
            fwrite($fp, "$stat:$value");
        }
        fclose($fp);
    }
}
