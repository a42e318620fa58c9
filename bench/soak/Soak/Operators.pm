package Soak::Operators;

# The operators' locations as the soak uses them: the admin API, the
# metrics page and the back-channel receiver of the upstream provider.
#
# Every request to them carries a tag (soakt-<process>n<number>x, the
# first query parameter, which the locations ignore) and is written to the
# run's "tags" file with its status; at the end the error log must hold,
# for each tag, exactly one "oidc_logout:" line at [error] when the module
# refused the request (a 4xx JSON answer), none at [error] or above when
# it answered 2xx, and none when nginx refused the request before the
# module saw it (its own HTML page).
#
# After the load stops, drain() waits until the outbox of both zones is
# empty (delivered or given up) and the short zone has no session left.

use strict;
use warnings;

use Exporter 'import';
use JSON::PP;
use Soak::HTTP qw(header_value);
use Soak::Metrics qw(parse_metrics);
use Soak::Stats qw(count sample stats_name violation);
use Soak::Tokens qw(enc);
use Soak::Traffic qw(send_raw send_request);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(tag note_tag operator api_json post_logout_token keys_not_ready
                    check_page fetch_page drain);

my $json = JSON::PP->new->utf8->canonical;
my $tags = 0;

# A fresh tag of this process.
sub tag {
    my $name = (stats_name() // 'x') =~ s/[^a-z0-9]//gr;
    return 'soakt-' . $name . 'n' . ++$tags . 'x';
}

sub is_json { (header_value($_[0], 'content-type') // '') =~ m{^application/json} ? 1 : 0 }

# note_tag(tag, response, kind): the tag's answer, for the log check.
sub note_tag {
    my ($tag, $res, $kind) = @_;
    return unless $res;
    sample('tags', join ' ', $tag, $res->{status}, is_json($res), $kind =~ s/\s+/_/gr);
}

# api_json(what, response): the decoded JSON body of an answer of the
# admin API or the receiver (undef for none, as for HEAD); a body that is
# not JSON, or an error without "error" and "error_description", is a
# violation.
sub api_json {
    my ($what, $res) = @_;
    return unless $res && is_json($res) && length($res->{body} // '');
    my $doc = eval { $json->decode($res->{body}) };
    if (!$doc || ref $doc ne 'HASH') {
        violation('api', "$what: $res->{status} with a body that is no JSON object: "
                  . substr($res->{body}, 0, 200));
        return;
    }
    if ($res->{status} >= 400
        && (ref \($doc->{error} // []) ne 'SCALAR'
            || ref \($doc->{error_description} // []) ne 'SCALAR')) {
        violation('api', "$what: $res->{status} without error and error_description: $res->{body}");
    }
    return $doc;
}

# operator(site, kind, method, path, query, %opt): a tagged request of
# Soak::Traffic::send_request; (response, its JSON) or nothing.
sub operator {
    my ($site, $kind, $method, $path, $query, %opt) = @_;
    my $tag = tag();
    my $target = "$path?$tag" . (defined $query && length $query ? "&$query" : '');
    my ($res) = send_request($site, $kind, $method, $target, %opt);
    return unless $res;
    note_tag($tag, $res, $kind);
    return ($res, api_json("$kind ($method $path)", $res));
}

# post_logout_token(site, kind, token): the upstream provider's POST.
sub post_logout_token {
    my ($site, $kind, $token) = @_;
    return operator($site, $kind, 'POST', '/bc-receiver', '', body => 'logout_token=' . enc($token));
}

# Whether a refusal of a valid logout token says that the provider's keys
# are not fetched yet (at the start, or before a refetch): no violation.
sub keys_not_ready {
    my ($res, $doc) = @_;
    return $res && $res->{status} == 400 && $doc
        && ($doc->{error_description} // '') =~ /no keys of the provider yet|\bkid\b/;
}

# check_page(what, zone, response): a metrics answer: 200 with the text
# format (HEAD: no body), or a refusal by nginx; the samples of a page,
# or nothing.
sub check_page {
    my ($what, $zone, $res, $head) = @_;
    return unless $res && $res->{status} == 200;
    my $type = header_value($res, 'content-type') // '';
    violation('metrics', "$what: Content-Type \"$type\", not the text format 0.0.4")
        unless $type =~ m{^text/plain; version=0\.0\.4};
    return if $head;
    my ($samples, @problems) = parse_metrics($res->{body} // '', $zone);
    violation('metrics', "$what: $_") for @problems;
    count('metrics: pages parsed');
    return $samples;
}

# fetch_page(site, zone): the metrics page of a zone and its samples;
# the page is kept in the run's folder for the parser at the end.
sub fetch_page {
    my ($site, $zone) = @_;
    my $path = $zone eq 'short' ? '/short/metrics' : '/metrics';
    my ($res) = operator($site, 'metrics page', 'GET', $path, '');
    my $samples = check_page("GET $path", $zone, $res) or return;
    open my $f, '>', "$site->{dir}/metrics-$zone.txt" or die "$site->{dir}/metrics-$zone.txt: $!";
    print $f $res->{body};
    close $f;
    return $samples;
}

# drain(site, bound): waits until no delivery is pending in either zone
# and no session is left in the short one, or the bound passes (a
# violation). Counts how long it took.
sub drain {
    my ($site, $bound) = @_;
    my $start = time;
    my $state = '';
    while (1) {
        my @left;
        for my $zone (['soak', '/admin'], ['short', '/short/admin']) {
            my ($res, $doc) = operator($site, 'drain deliveries', 'GET', "$zone->[1]/deliveries", '');
            if (!$doc || ref $doc->{pending} ne 'ARRAY') {
                push @left, "$zone->[0]: no answer";
                next;
            }
            push @left, map { "$zone->[0]: $_->{client_id} $_->{deliveries}" } @{ $doc->{pending} };
        }
        my $short = fetch_page($site, 'short');
        my $live = $short ? $short->{'oidc_logout_sessions{}'} // 'none' : 'no page';
        push @left, "short: $live sessions live" unless $live eq '0';
        $state = join ', ', @left;
        last unless @left;
        if (time > $bound) {
            violation('outbox', sprintf 'not drained %.0f s after the load stopped: %s',
                      time - $start, $state);
            return 0;
        }
        sleep 1;    # pacing of the polls
    }
    count('drain: seconds', time - $start);
    return 1;
}

1;
