#include "url.hpp"

#include "text.hpp"

namespace oidc_logout {

namespace {

bool
is_sub_delim(char c)
{
    switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
        return true;
    default:
        return false;
    }
}

/* pchar minus pct-encoded (RFC 3986 3.3). */
bool
is_pchar(char c)
{
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

int
default_port(std::string_view scheme)
{
    if (scheme == "http") {
        return 80;
    }
    if (scheme == "https") {
        return 443;
    }
    return -1;
}

/*
 * Normalises a path or query: validates every character and percent-escape,
 * decodes escaped unreserved characters and upper-cases the hex of the rest.
 * Escaped controls, spaces and backslashes are refused like raw ones.
 */
bool
normalise_component(std::string_view in, bool is_query, std::string &out,
                    std::string &reason)
{
    out.clear();
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); i++) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size() || !is_hex_digit(in[i + 1]) ||
                !is_hex_digit(in[i + 2])) {
                reason = "bad percent-encoding";
                return false;
            }
            auto b = static_cast<unsigned char>(hex_value(in[i + 1]) << 4 |
                                                hex_value(in[i + 2]));
            i += 2;
            if (b <= 0x20 || b == 0x7f) {
                reason = "percent-encoded control character or space";
                return false;
            }
            if (b == '\\') {
                reason = "percent-encoded backslash";
                return false;
            }
            if (is_unreserved(static_cast<char>(b))) {
                out += static_cast<char>(b);
            } else {
                out += '%';
                out += "0123456789ABCDEF"[b >> 4];
                out += "0123456789ABCDEF"[b & 0xf];
            }
            continue;
        }
        if (is_pchar(c) || c == '/' || (is_query && c == '?')) {
            out += c;
            continue;
        }
        reason = std::string("character '") + c + "' is not allowed in " +
                 (is_query ? "the query" : "the path");
        return false;
    }
    return true;
}

bool
has_dot_segment(std::string_view path)
{
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        std::string_view seg = path.substr(start, end - start);
        if (seg == "." || seg == "..") {
            return true;
        }
        start = end + 1;
    }
    return false;
}

bool
parse_reg_name(std::string_view host, std::string &reason)
{
    if (host.empty()) {
        reason = "empty host";
        return false;
    }
    size_t label_len = 0;
    for (char c : host) {
        if (c == '.') {
            if (label_len == 0) {
                reason = "empty label in host";
                return false;
            }
            label_len = 0;
            continue;
        }
        if (c == '%') {
            reason = "percent-encoded host";
            return false;
        }
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') {
            reason =
                std::string("character '") + c + "' is not allowed in the host";
            return false;
        }
        label_len++;
    }
    if (label_len == 0) {
        reason = "empty label in host";
        return false;
    }
    return true;
}

bool
parse_ip_literal(std::string_view host, std::string &reason)
{
    /* host is "[...]" */
    std::string_view inner = host.substr(1, host.size() - 2);
    if (inner.empty() || inner.find(':') == std::string_view::npos) {
        reason = "malformed IP literal host";
        return false;
    }
    for (char c : inner) {
        if (!is_hex_digit(c) && c != ':' && c != '.') {
            reason = "malformed IP literal host";
            return false;
        }
    }
    return true;
}

bool
parse_authority(std::string_view auth, UrlKind kind, Url &out,
                std::string &reason)
{
    if (auth.find('@') != std::string_view::npos) {
        reason = "userinfo is not allowed";
        return false;
    }
    std::string_view host;
    std::string_view port;
    bool has_port = false;
    if (!auth.empty() && auth[0] == '[') {
        size_t close = auth.find(']');
        if (close == std::string_view::npos) {
            reason = "malformed IP literal host";
            return false;
        }
        host = auth.substr(0, close + 1);
        std::string_view rest = auth.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') {
                reason = "malformed authority";
                return false;
            }
            has_port = true;
            port = rest.substr(1);
        }
        if (!parse_ip_literal(host, reason)) {
            return false;
        }
        out.host_is_literal = true;
    } else {
        size_t colon = auth.find(':');
        host = auth.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port = true;
            port = auth.substr(colon + 1);
        }
        if (kind == UrlKind::pattern && host.substr(0, 2) == "*.") {
            host.remove_prefix(2);
            if (host.find('.') == std::string_view::npos) {
                reason = "a wildcard needs at least two labels after \"*.\"";
                return false;
            }
            out.host_wildcard = true;
        }
        if (!parse_reg_name(host, reason)) {
            return false;
        }
    }
    out.host = to_lower(host);
    out.port = default_port(out.scheme);
    if (has_port) {
        if (port.empty() || port.size() > 5) {
            reason = "malformed port";
            return false;
        }
        long value = 0;
        for (char c : port) {
            if (!is_digit(c)) {
                reason = "malformed port";
                return false;
            }
            value = value * 10 + (c - '0');
        }
        if (value < 1 || value > 65535) {
            reason = "port out of range";
            return false;
        }
        out.port = static_cast<int>(value);
    }
    return true;
}

} // namespace

bool
is_forbidden_scheme(std::string_view scheme)
{
    static const char *const forbidden[] = {
        "javascript", "data", "vbscript", "file", "blob", "about", "filesystem",
    };
    for (const char *f : forbidden) {
        if (iequals(scheme, f)) {
            return true;
        }
    }
    return false;
}

bool
parse_url(std::string_view in, UrlKind kind, Url &out, std::string &reason)
{
    out = Url();
    if (in.empty()) {
        reason = "empty URL";
        return false;
    }
    if (in.size() > max_url_length) {
        reason = "longer than 4096 bytes";
        return false;
    }
    for (char c : in) {
        auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b == 0x7f) {
            reason = "control character or space";
            return false;
        }
        if (b >= 0x80) {
            reason = "non-ASCII byte";
            return false;
        }
        if (c == '\\') {
            reason = "backslash";
            return false;
        }
    }
    if (in.find('#') != std::string_view::npos) {
        reason = "a fragment is not allowed";
        return false;
    }

    /* scheme ":" "//" */
    size_t i = 0;
    if (!is_alpha(in[0])) {
        reason = "no scheme (relative or scheme-relative URL)";
        return false;
    }
    while (i < in.size() && (is_alpha(in[i]) || is_digit(in[i]) ||
                             in[i] == '+' || in[i] == '-' || in[i] == '.')) {
        i++;
    }
    if (i == in.size() || in[i] != ':') {
        reason = "no scheme (relative or scheme-relative URL)";
        return false;
    }
    out.scheme = to_lower(in.substr(0, i));
    std::string_view rest = in.substr(i + 1);
    if (rest.substr(0, 2) != "//") {
        reason = "no host (\"//\" must follow the scheme)";
        return false;
    }
    rest.remove_prefix(2);

    size_t auth_end = rest.find_first_of("/?");
    std::string_view auth = rest.substr(0, auth_end);
    if (!parse_authority(auth, kind, out, reason)) {
        return false;
    }
    rest = auth_end == std::string_view::npos ? std::string_view()
                                              : rest.substr(auth_end);

    size_t q = rest.find('?');
    std::string_view path = rest.substr(0, q);
    if (!normalise_component(path, false, out.path, reason)) {
        return false;
    }
    if (has_dot_segment(out.path)) {
        reason = "dot segment in the path";
        return false;
    }
    if (out.path.empty()) {
        out.path = "/";
    }
    if (q != std::string_view::npos) {
        out.has_query = true;
        if (!normalise_component(rest.substr(q + 1), true, out.query, reason)) {
            return false;
        }
    }
    return true;
}

std::string
Url::origin() const
{
    std::string s = scheme + "://" + (host_wildcard ? "*." : "") + host;
    if (port != -1 && port != default_port(scheme)) {
        s += ':' + std::to_string(port);
    }
    return s;
}

std::string
Url::origin_and_path() const
{
    return origin() + path;
}

std::string
Url::canonical() const
{
    std::string s = origin_and_path();
    if (has_query) {
        s += '?' + query;
    }
    return s;
}

} // namespace oidc_logout
