<?php
// Test data for an URL sanitizer: script injections must come out encoded.
return [
    'https://example.org/a/"><script>eval(atob("YWxlcnQoZG9jdW1lbnQuY29va2llKTsgZG9jdW1lbnQubG9jYXRpb249Jy8nOyBoaXN0b3J5LnB1c2hTdGF0ZSgnJywnJywnLycpOyBjb25zb2xlLmxvZygnZG9uZScpOyBhbGVydCgxKTsgYWxlcnQoMik7IGFsZXJ0KDMpOyBhbGVydCg0KTsgYWxlcnQoNSk7IGFsZXJ0KDYpOyBhbGVydCg3KTsgYWxlcnQoOCk7"))</script>' => '/a/%22%3E%3Cscript%3E',
];
