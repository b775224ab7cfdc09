#!/usr/bin/perl
use strict;
use CGI;
my $q = CGI->new;
print $q->header;
print $q->start_form, $q->textfield('name'), $q->submit, $q->end_form;
my $name = $q->param('name') // '';
$name =~ s/[^a-z]//g;
print "Hello $name\n";
