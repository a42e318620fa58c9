// Strict parsing and normalisation of absolute URLs (RFC 3986).
#pragma once

#include <string>
#include <string_view>

namespace oidc_logout {

/* Longest URL accepted, in bytes. */
constexpr size_t max_url_length = 4096;

struct Url {
    std::string scheme; /* lower case */
    std::string host;   /* lower case; IPv6 literals keep their brackets */
    int port = -1;      /* explicit or default port; -1 when unknown */
    std::string path;   /* normalised, "/" when empty */
    std::string query;  /* normalised, without "?" */
    bool has_query = false;
    bool host_is_literal = false;
    bool host_wildcard = false; /* pattern "*.rest": host holds "rest" */

    /* scheme://host[:port], the port only when not the default. */
    std::string origin() const;
    /* scheme://host[:port] + path: what allowlists compare. */
    std::string origin_and_path() const;
    /* scheme://host[:port] + path [+ "?" query]: the canonical form. */
    std::string canonical() const;
};

enum class UrlKind {
    candidate, /* a URL received in a request */
    pattern    /* a registered allowed URL: may start its host with "*." */
};

/*
 * Parses an absolute URL with an authority.  Refuses (with a reason) what
 * could steer a browser elsewhere than the URL seems to say: no scheme,
 * relative and scheme-relative URLs, userinfo, backslashes, controls and
 * spaces (raw or percent-encoded), bad percent-encoding, empty, malformed or
 * non-ASCII hosts, dot segments, fragments and anything over
 * max_url_length bytes.
 */
bool parse_url(std::string_view in, UrlKind kind, Url &out,
               std::string &reason);

/* Schemes that are never registered as a redirect target. */
bool is_forbidden_scheme(std::string_view scheme);

} // namespace oidc_logout
