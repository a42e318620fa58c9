// The metrics page: a zone's counters as Prometheus text.
#pragma once

#include "../oidc_logout_core.h"

#include <string>
#include <string_view>

namespace oidc_logout {

/*
 * The counters of m in the Prometheus text exposition format 0.0.4 (the
 * body of a "text/plain; version=0.0.4; charset=utf-8" response), every
 * sample labelled with zone.  The families and their names are listed in
 * metrics.cpp.
 */
std::string metrics_text(const ol_metrics &m, std::string_view zone);

} // namespace oidc_logout
