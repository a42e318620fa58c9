package Soak::Stats;

# Counters of one soak process, saved to a file when it ends and summed by
# the driver; violations are appended to a shared file at once (one short
# line, O_APPEND), so that none is lost with the process.

use strict;
use warnings;

use Exporter 'import';
use Fcntl qw(O_APPEND O_CREAT O_WRONLY);
use JSON::PP;

our @EXPORT_OK = qw(stats_init stats_name count violation sample save_stats load_stats);

my ($dir, $name, %counts);

sub stats_init {
    ($dir, $name) = @_;
    %counts = ();
}

# The name of this process of the soak (client-1, fuzzer-0, ...).
sub stats_name { $name }

sub count { $counts{ $_[0] } += $_[1] // 1 }

sub append_line {
    my ($file, $line) = @_;
    $line =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    $line = substr($line, 0, 600) . '...' if length $line > 600;
    sysopen my $f, "$dir/$file", O_WRONLY | O_APPEND | O_CREAT or die "$dir/$file: $!";
    syswrite $f, "$line\n";
    close $f;
}

# violation(kind, detail): a breach that fails the soak.
sub violation {
    my ($kind, $detail) = @_;
    count("violations: $kind");
    append_line('violations', "$kind: $detail");
}

# sample(file, line): something worth a look that does not fail the soak.
sub sample {
    my ($file, $line) = @_;
    append_line($file, $line);
}

sub save_stats {
    open my $f, '>', "$dir/stats/$name.json" or die "$dir/stats/$name.json: $!";
    print $f encode_json(\%counts);
    close $f;
}

# The counters of every process that saved them, summed, and the names of
# the processes.
sub load_stats {
    my ($dir) = @_;
    my (%sum, @names);
    for my $file (sort glob "$dir/stats/*.json") {
        open my $f, '<', $file or die "$file: $!";
        my $c = decode_json(do { local $/; <$f> });
        $sum{$_} += $c->{$_} for keys %$c;
        push @names, $file =~ m{([^/]+)\.json$};
    }
    return (\%sum, \@names);
}

1;
