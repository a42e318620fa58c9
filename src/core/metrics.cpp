#include "metrics.hpp"

#include "text.hpp"

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <type_traits>

/*
 * The families of the metrics page, in the order of the page.  Every
 * sample has the label zone (the oidc_logout_zone name); a label whose
 * values come from an enum has a sample for each value, zeros included, so
 * that rate() and increase() work from the first scrape.
 *
 *   oidc_logout_sessions                  gauge    live sessions
 *   oidc_logout_logins_total              counter  sessions started
 *   oidc_logout_joins_total               counter  clients joined to one
 *   oidc_logout_session_ends_total        counter  {cause}: logout, idle,
 *       lifetime, evicted, admin, upstream (the provider's back-channel
 *       logout), replaced (a sign-in of another subject on the cookie)
 *   oidc_logout_logouts_total             counter  {mode, outcome}: mode
 *       oidc or auth0 (the oidc_logout directive); outcome redirected,
 *       page (signed out without a redirect), confirmation (asked),
 *       refused
 *   oidc_logout_hint_verifications_total  counter  {result}: verified,
 *       refused, unknown_key
 *   oidc_logout_upstream_logout_tokens_total  counter  {result}: accepted,
 *       refused (logout tokens of the upstream provider)
 *   oidc_logout_backchannel_deliveries_total  counter  {client, outcome}:
 *       delivered, retried, failed, given_up, dropped
 *   oidc_logout_backchannel_pending_deliveries         gauge  all that
 *       wait in the zone (clients since unregistered included)
 *   oidc_logout_backchannel_client_pending_deliveries  gauge  {client}
 *   oidc_logout_zone_size_bytes           gauge    the zone's size
 *                                                  (ol_metrics.zone_bytes)
 *   oidc_logout_zone_free_bytes           gauge    of which free
 *   oidc_logout_zone_repairs_total        counter  {kind}: undone (a
 *       change a dead process left unfinished: repaired), emptied (the
 *       zone was found damaged and rebuilt: rebuilt)
 *
 * The names follow Prometheus's conventions: the prefix oidc_logout_,
 * counters end in _total, units in base units and plural (_bytes), labels
 * in snake_case.  The total of pending deliveries is a family of its own
 * rather than a sample of the per-client one, so that sum() over a family
 * never counts a delivery twice.
 *
 * HELP and TYPE name a family by the name of its samples, _total included:
 * that is the 0.0.4 format's rule ("the TYPE line for a metric name") and
 * what client libraries write; a parser such as prometheus_client's takes
 * samples whose name differs from the TYPE line's for untyped metrics.
 */

namespace oidc_logout {

namespace {

const char *const end_causes[] = {"logout", "idle",     "lifetime", "evicted",
                                  "admin",  "upstream", "replaced"};
const char *const logout_modes[] = {"oidc", "auth0"};
const char *const logout_outcomes[] = {"redirected", "page", "confirmation",
                                       "refused"};
const char *const hint_results[] = {"verified", "refused", "unknown_key"};
const char *const upstream_results[] = {"accepted", "refused"};
const char *const sent_outcomes[] = {"delivered", "retried", "failed",
                                     "given_up", "dropped"};
/* counter_by checks the sizes of the families of one enum; these are the
 * others */
static_assert(std::size(logout_modes) ==
              std::extent_v<decltype(ol_metrics::logouts), 0>);
static_assert(std::size(logout_outcomes) ==
              std::extent_v<decltype(ol_metrics::logouts), 1>);
static_assert(std::size(sent_outcomes) == OL_SENT_OUTCOMES);

/* How many bytes the UTF-8 sequence that starts with lead has, 0 when no
 * sequence starts with it. */
size_t
utf8_sequence_length(unsigned char lead)
{
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xc2 && lead <= 0xdf) {
        return 2;
    }
    if (lead >= 0xe0 && lead <= 0xef) {
        return 3;
    }
    return lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
}

/*
 * A label value as the text format quotes it: backslash, double quote and
 * line feed escaped.  The format is UTF-8 and Prometheus refuses a whole
 * page for one label value that is not: a byte that starts no valid
 * sequence becomes U+FFFD.
 */
std::string
label_value(std::string_view in)
{
    std::string out;
    out.reserve(in.size());
    size_t i = 0;
    while (i < in.size()) {
        char c = in[i];
        size_t n = utf8_sequence_length(static_cast<unsigned char>(c));
        if (n == 1) {
            if (c == '\\' || c == '"') {
                out += '\\';
                out += c;
            } else if (c == '\n') {
                out += "\\n";
            } else {
                out += c;
            }
        } else if (n != 0 && i + n <= in.size() && is_utf8(in.substr(i, n))) {
            out.append(in, i, n);
        } else {
            out += "\xef\xbf\xbd";
            n = 1;
        }
        i += n;
    }
    return out;
}

struct Label {
    std::string_view name;
    std::string_view value;
};

/* The page being written: families, each opened by its HELP and TYPE
 * lines, then its samples. */
class Page {
  public:
    explicit Page(std::string_view zone) : zone_(label_value(zone))
    {
    }

    void
    family(std::string_view name, std::string_view type, std::string_view help)
    {
        name_ = name;
        text_ += "# HELP ";
        text_ += name;
        text_ += ' ';
        text_ += help;
        text_ += "\n# TYPE ";
        text_ += name;
        text_ += ' ';
        text_ += type;
        text_ += '\n';
    }

    /* A family of one sample, labelled with the zone alone. */
    void
    single(std::string_view name, std::string_view type, std::string_view help,
           uint64_t value)
    {
        family(name, type, help);
        sample({}, value);
    }

    /* A sample of the open family: zone, then labels. */
    void
    sample(std::initializer_list<Label> labels, uint64_t value)
    {
        text_ += name_;
        text_ += "{zone=\"";
        text_ += zone_;
        text_ += '"';
        for (const Label &l : labels) {
            text_ += ',';
            text_ += l.name;
            text_ += "=\"";
            text_ += label_value(l.value);
            text_ += '"';
        }
        text_ += "} ";
        text_ += std::to_string(value);
        text_ += '\n';
    }

    std::string
    take()
    {
        return std::move(text_);
    }

  private:
    std::string zone_;
    std::string_view name_;
    std::string text_;
};

/* A counter with a sample for each value of label; N, the size of both
 * arrays, keeps the names and the counts of an enum in step. */
template <size_t N>
void
counter_by(Page &page, std::string_view name, std::string_view help,
           std::string_view label, const char *const (&values)[N],
           const uint64_t (&counts)[N])
{
    page.family(name, "counter", help);
    for (size_t i = 0; i < N; i++) {
        page.sample({{label, values[i]}}, counts[i]);
    }
}

std::string_view
client_id(const ol_client_metrics &client)
{
    return client.client_id ? client.client_id : "";
}

} // namespace

std::string
metrics_text(const ol_metrics &m, std::string_view zone)
{
    Page page(zone);

    page.single("oidc_logout_sessions", "gauge", "Live sessions.", m.sessions);
    page.single("oidc_logout_logins_total", "counter", "Sessions started.",
                m.logins);
    page.single("oidc_logout_joins_total", "counter",
                "Clients joined to a session.", m.joins);
    counter_by(page, "oidc_logout_session_ends_total",
               "Sessions ended, by cause.", "cause", end_causes, m.ends);

    page.family("oidc_logout_logouts_total", "counter",
                "Requests to a logout endpoint, by mode and outcome.");
    for (size_t mode = 0; mode < std::size(logout_modes); mode++) {
        for (size_t o = 0; o < std::size(logout_outcomes); o++) {
            page.sample(
                {{"mode", logout_modes[mode]}, {"outcome", logout_outcomes[o]}},
                m.logouts[mode][o]);
        }
    }

    counter_by(page, "oidc_logout_hint_verifications_total",
               "Verifications of an id_token_hint, by result.", "result",
               hint_results, m.hints);
    counter_by(page, "oidc_logout_upstream_logout_tokens_total",
               "Logout tokens received from the upstream provider, by result.",
               "result", upstream_results, m.upstream);

    page.family("oidc_logout_backchannel_deliveries_total", "counter",
                "Back-channel logout deliveries, by client and outcome.");
    for (size_t c = 0; c < m.client_count; c++) {
        for (size_t o = 0; o < std::size(sent_outcomes); o++) {
            page.sample({{"client", client_id(m.clients[c])},
                         {"outcome", sent_outcomes[o]}},
                        m.clients[c].sent[o]);
        }
    }
    page.single("oidc_logout_backchannel_pending_deliveries", "gauge",
                "Back-channel logout deliveries waiting to be retried.",
                m.pending);
    page.family("oidc_logout_backchannel_client_pending_deliveries", "gauge",
                "Back-channel logout deliveries waiting to be retried, by "
                "client.");
    for (size_t c = 0; c < m.client_count; c++) {
        page.sample({{"client", client_id(m.clients[c])}},
                    m.clients[c].pending);
    }

    page.single("oidc_logout_zone_size_bytes", "gauge",
                "Size of the shared memory zone.", m.zone_bytes);
    page.single("oidc_logout_zone_free_bytes", "gauge",
                "Free bytes of the shared memory zone.", m.zone_bytes_free);
    page.family("oidc_logout_zone_repairs_total", "counter",
                "Repairs of the zone after a process died while changing it, "
                "by kind: a change undone, or the zone emptied.");
    page.sample({{"kind", "undone"}}, m.repaired);
    page.sample({{"kind", "emptied"}}, m.rebuilt);

    return page.take();
}

} // namespace oidc_logout
