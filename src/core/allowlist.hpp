// Allowed logout URLs: Auth0 "Allowed Logout URLs" matching.
#pragma once

#include "url.hpp"

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace oidc_logout {

/*
 * Scheme, host, port and path must match; the candidate's query is allowed
 * (a registered URL's query is not compared).  A registered host "*.rest"
 * matches exactly one extra leftmost label, never "rest" itself.  Lookups
 * are two hash probes whatever the number of registered URLs.
 */
class Allowlist {
  public:
    bool add(std::string_view url, std::string &reason);
    bool matches(const Url &candidate) const;
    size_t
    size() const
    {
        return registered_.size();
    }
    /* The first registered URL without a wildcard, or nullptr. */
    const std::string *first_plain() const;

  private:
    std::unordered_set<std::string> plain_;    /* origin_and_path() */
    std::unordered_set<std::string> wildcard_; /* same, host without "*." */
    std::vector<std::string> registered_;      /* as given, in order */
    std::vector<bool> registered_wildcard_;
};

/* The URL "candidate" reduced to the key a "*." pattern is stored under:
 * its host without the leftmost label.  False when the host cannot match a
 * wildcard (an IP literal, or a single label). */
bool wildcard_key(const Url &candidate, std::string &key);

} // namespace oidc_logout
