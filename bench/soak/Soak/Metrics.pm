package Soak::Metrics;

# The metrics page, read the way Prometheus reads the text format 0.0.4:
# every line a HELP, a TYPE, another comment or a sample, each sample of a
# family whose TYPE came before it, label values escaped as the format
# says, values that are numbers, no sample twice, every sample of the
# zone the location serves. The soak checks each page it gets with it,
# and passes the last ones to t/support/prometheus_parse.py at the end.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(parse_metrics metric_sum);

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $LVALUE = qr/(?:[^"\\\n]|\\[\\"n])*/;
my $NUMBER = qr/[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf)|NaN/;

# parse_metrics(text, zone): ({ "name{k=v,...}" => value }, problems):
# the samples, their labels sorted, and what breaks the format (each a
# short sentence naming the line).
sub parse_metrics {
    my ($text, $zone) = @_;
    my (%samples, %type, %help, @problems);
    my $problem = sub { push @problems, $_[0] if @problems < 20 };
    $problem->('the page does not end with a line feed') if length $text && $text !~ /\n\z/;
    $problem->('the page is empty') unless length $text;
    my $n = 0;
    for my $line (split /\n/, $text) {
        $n++;
        my $at = "line $n \"" . (length $line > 120 ? substr($line, 0, 120) . '...' : $line) . '"';
        if ($line =~ /^#\s*HELP\s/) {
            my ($name, $doc) = $line =~ /^# HELP ($NAME) (.*)$/ or do {
                $problem->("$at: a malformed HELP line");
                next;
            };
            $problem->("$at: HELP with an escape other than \\\\ and \\n")
                unless $doc =~ /^(?:[^\\]|\\[\\n])*$/;
            $problem->("$at: a second HELP for $name") if $help{$name}++;
        } elsif ($line =~ /^#\s*TYPE\s/) {
            my ($name, $t) = $line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/
                or do {
                    $problem->("$at: a malformed TYPE line");
                    next;
                };
            $problem->("$at: a second TYPE for $name") if $type{$name};
            $type{$name} = $t;
        } elsif ($line =~ /^#/ || $line =~ /^[ \t]*$/) {
            next;    # a comment, or a blank line: both allowed
        } else {
            my ($name, $labels, $value) =
                $line =~ /^($NAME)(?:\{((?:$LABEL="$LVALUE",)*(?:$LABEL="$LVALUE")?)\})? ($NUMBER)(?: -?\d+)?$/
                or do {
                    $problem->("$at: not a sample of the text format");
                    next;
                };
            my %l;
            for my $pair (($labels // '') =~ /($LABEL="$LVALUE")/g) {
                my ($k, $v) = $pair =~ /^($LABEL)="(.*)"$/s;
                $problem->("$at: label $k twice") if exists $l{$k};
                $l{$k} = $v;
            }
            my $t = $type{$name};
            $problem->("$at: a sample of a family without a TYPE line before it") unless $t;
            $problem->("$at: zone=\"" . ($l{zone} // '') . "\", not \"$zone\"")
                unless defined $l{zone} && $l{zone} eq $zone;
            $problem->("$at: a negative $t") if $t && $t =~ /^(?:counter|gauge)$/ && $value =~ /^-/;
            $problem->("$at: a counter that is not a number") if $t && $t eq 'counter' && $value =~ /NaN/;
            my $key = $name . '{' . join(',', map { "$_=$l{$_}" } sort grep { $_ ne 'zone' } keys %l) . '}';
            $problem->("$at: a second sample of $key") if exists $samples{$key};
            $samples{$key} = $value;
        }
    }
    return (\%samples, @problems);
}

# metric_sum(samples, name, label => value ...): the sum of the samples of
# a family whose labels match.
sub metric_sum {
    my ($samples, $name, %want) = @_;
    my $sum = 0;
    for my $key (keys %$samples) {
        my ($n, $labels) = $key =~ /^([^{]+)\{(.*)\}$/ or next;
        next unless $n eq $name;
        my %l = map { split /=/, $_, 2 } grep { length } split /,/, $labels;
        next if grep { ($l{$_} // '') ne $want{$_} } keys %want;
        $sum += $samples->{$key};
    }
    return $sum;
}

1;
