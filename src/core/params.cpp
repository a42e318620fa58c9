#include "params.hpp"

#include "text.hpp"

namespace oidc_logout {

namespace {

bool
bad_encoding(std::string_view pair, std::string &reason)
{
    reason = "bad percent-encoding in parameter " + quoted(pair, 64);
    return false;
}

} // namespace

Params::Params(std::vector<std::string_view> names)
    : names_(std::move(names)), values_(names_.size())
{
}

bool
Params::parse(std::string_view raw, std::string &reason)
{
    if (raw.size() > max_params_length) {
        reason = "request parameters longer than " +
                 std::to_string(max_params_length) + " bytes";
        return false;
    }
    std::string name;
    std::string value;
    size_t start = 0;
    while (start <= raw.size()) {
        size_t end = raw.find('&', start);
        if (end == std::string_view::npos) {
            end = raw.size();
        }
        std::string_view pair = raw.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) {
            continue;
        }
        size_t eq = pair.find('=');
        std::string_view raw_value = eq == std::string_view::npos
                                         ? std::string_view()
                                         : pair.substr(eq + 1);
        if (!form_decode(pair.substr(0, eq), name)) {
            return bad_encoding(pair, reason);
        }
        size_t i = 0;
        while (i < names_.size() && names_[i] != name) {
            i++;
        }
        if (i < names_.size() && values_[i]) {
            reason = "parameter \"" + name + "\" sent more than once";
            return false;
        }
        /* a known parameter's value is decoded where it is kept */
        if (!form_decode(raw_value,
                         i < names_.size() ? values_[i].emplace() : value)) {
            return bad_encoding(pair, reason);
        }
    }
    return true;
}

const std::string *
Params::get(std::string_view name) const
{
    for (size_t i = 0; i < names_.size(); i++) {
        if (names_[i] == name && values_[i] && !values_[i]->empty()) {
            return &*values_[i];
        }
    }
    return nullptr;
}

bool
Params::has(std::string_view name) const
{
    for (size_t i = 0; i < names_.size(); i++) {
        if (names_[i] == name) {
            return values_[i].has_value();
        }
    }
    return false;
}

} // namespace oidc_logout
