#include "frontchannel.hpp"

#include "random_id.hpp"
#include "text.hpp"

#include <algorithm>

namespace oidc_logout {

namespace {

/*
 * The script is constant: the page's variable parts (where to go, how many
 * iframes, how long to wait) are attributes of <html>, so no request or
 * client value ever reaches a script context.  It runs in <head>, before
 * any iframe exists, and counts their load events from the capture phase,
 * so that none is missed however fast it fires.
 */
const char page_script[] =
    "(function () {\n"
    "  var root = document.documentElement;\n"
    "  var left = Number(root.dataset.frames), gone = false;\n"
    "  function next() {\n"
    "    if (!gone) {\n"
    "      gone = true;\n"
    "      window.location.replace(root.dataset.next);\n"
    "    }\n"
    "  }\n"
    "  document.addEventListener('load', function (e) {\n"
    "    var f = e.target;\n"
    "    if (f.tagName === 'IFRAME' && !f.dataset.loaded) {\n"
    "      f.dataset.loaded = '1';\n"
    "      if (--left === 0) next();\n"
    "    }\n"
    "  }, true);\n"
    "  window.setTimeout(next, Number(root.dataset.timeout));\n"
    "})();\n";

/* Hidden, but laid out: a display:none iframe may never load. */
const char page_style[] = "iframe{position:absolute;width:0;height:0;border:0}";

const std::string *
header_value(const Response &r, std::string_view name)
{
    for (const auto &h : r.headers) {
        if (iequals(h.first, name)) {
            return &h.second;
        }
    }
    return nullptr;
}

} // namespace

std::string
frontchannel_url(const Client &client, std::string_view issuer,
                 std::string_view sid)
{
    std::string url = client.frontchannel_logout_uri;
    if (client.frontchannel_logout_session_required) {
        url += url.find('?') == std::string::npos ? "?iss=" : "&iss=";
        url += percent_encode(issuer);
        url += "&sid=";
        url += percent_encode(sid);
    }
    return url;
}

bool
frontchannel_page(Response &response, const ClientRegistry &clients,
                  const FrontchannelSession &session)
{
    std::vector<std::pair<const Client *, std::string_view>> framed;
    std::vector<std::string> origins;
    const EndedSession &ended = session.ended;
    for (size_t i = 0; i < ended.client_ids.size(); i++) {
        const Client *c = clients.find(ended.client_ids[i]);
        if (c == nullptr || c->frontchannel_logout_uri.empty()) {
            continue;
        }
        framed.emplace_back(c, ended.sid_for(i));
        if (std::find(origins.begin(), origins.end(), c->frontchannel_origin) ==
            origins.end()) {
            origins.push_back(c->frontchannel_origin);
        }
    }
    if (framed.empty()) {
        return false;
    }

    const std::string *location = header_value(response, "Location");
    std::string next =
        html_escape(location != nullptr ? std::string_view(*location)
                                        : session.next_default);
    std::string nonce = random_id_text();

    std::string csp = "default-src 'none'; frame-src";
    for (const std::string &origin : origins) {
        csp += ' ' + origin;
    }
    csp += "; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
           "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    std::string body =
        "<!DOCTYPE html>\n<html lang=\"en\" data-next=\"" + next +
        "\" data-frames=\"" + std::to_string(framed.size()) +
        "\" data-timeout=\"" + std::to_string(session.timeout_ms) +
        "\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\">\n<title>Signing out</title>\n"
        "<noscript><meta http-equiv=\"refresh\" content=\"0; url=" +
        next + "\"></noscript>\n<style nonce=\"" + nonce + "\">" + page_style +
        "</style>\n<script nonce=\"" + nonce + "\">\n" + page_script +
        "</script>\n</head>\n<body>\n<main>\n<h1>Signing out</h1>\n"
        "<p>You are being signed out of your applications.</p>\n"
        "<noscript><p><a href=\"" +
        next + "\">Continue</a></p></noscript>\n</main>\n";
    for (const auto &[c, sid] : framed) {
        body += "<iframe src=\"" +
                html_escape(frontchannel_url(*c, session.issuer, sid)) +
                "\" title=\"Signing out of " + html_escape(c->id) +
                "\" tabindex=\"-1\" aria-hidden=\"true\"></iframe>\n";
    }
    body += "</body>\n</html>\n";

    set_page(response, 200, std::move(body), std::move(csp));
    response.federated_return.clear();
    return true;
}

} // namespace oidc_logout
