#include "allowlist.hpp"

namespace oidc_logout {

bool
wildcard_key(const Url &candidate, std::string &key)
{
    if (candidate.host_is_literal) {
        return false;
    }
    size_t dot = candidate.host.find('.');
    if (dot == std::string::npos) {
        return false;
    }
    Url parent = candidate;
    parent.host = candidate.host.substr(dot + 1);
    parent.host_wildcard = false;
    key = parent.origin_and_path();
    return true;
}

bool
Allowlist::add(std::string_view url, std::string &reason)
{
    Url parsed;
    if (!parse_url(url, UrlKind::pattern, parsed, reason)) {
        return false;
    }
    if (is_forbidden_scheme(parsed.scheme)) {
        reason = "scheme \"" + parsed.scheme + "\" is not allowed";
        return false;
    }
    bool wildcard = parsed.host_wildcard;
    parsed.host_wildcard = false;
    (wildcard ? wildcard_ : plain_).insert(parsed.origin_and_path());
    registered_.emplace_back(url);
    registered_wildcard_.push_back(wildcard);
    return true;
}

bool
Allowlist::matches(const Url &candidate) const
{
    if (plain_.count(candidate.origin_and_path()) != 0) {
        return true;
    }
    std::string key;
    return !wildcard_.empty() && wildcard_key(candidate, key) &&
           wildcard_.count(key) != 0;
}

const std::string *
Allowlist::first_plain() const
{
    for (size_t i = 0; i < registered_.size(); i++) {
        if (!registered_wildcard_[i]) {
            return &registered_[i];
        }
    }
    return nullptr;
}

} // namespace oidc_logout
