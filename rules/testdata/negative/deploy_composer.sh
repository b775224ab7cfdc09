#!/bin/sh
set -e
cd "$(dirname "$0")"
if [ ! -x composer.phar ]; then
  curl -sS -o composer.phar https://getcomposer.org/download/latest-stable/composer.phar
  chmod +x composer.phar
fi
php composer.phar install --no-dev --optimize-autoloader
php artisan migrate --force
