#!/usr/bin/perl
# Verify the DKIM signatures of message files with Perl's Mail::DKIM (Debian's
# libmail-dkim-perl), an implementation independent of the dkimpy we sign with.
# Public keys come from the DNS server on 127.0.0.1:PORT that the test started.
# Usage: dkim_verify.pl PORT FILE...   prints "FILE: RESULT (DETAIL)" per file.
use strict;
use warnings;
use Net::DNS;
use Mail::DKIM::DNS;
use Mail::DKIM::Verifier;

my ( $port, @files ) = @ARGV;
Mail::DKIM::DNS::resolver(
    Net::DNS::Resolver->new(
        nameservers => ['127.0.0.1'],
        port        => $port,
        recurse     => 0,
        udp_timeout => 5,
        tcp_timeout => 5,
    )
);
for my $file (@files) {
    open my $fh, '<:raw', $file or die "$file: $!\n";
    my $dkim = Mail::DKIM::Verifier->new();
    while ( my $line = <$fh> ) {
        $line =~ s/\r?\n\z/\015\012/;
        $dkim->PRINT($line);
    }
    close $fh;
    $dkim->CLOSE;
    my $detail = $dkim->result_detail // '';
    print "$file: ", $dkim->result, " ($detail)\n";
}
