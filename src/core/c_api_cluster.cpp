// C ABI of cluster mode: the zone as a node's cache of Redis's sessions.
#include "c_api.hpp"

#include <cstring>
#include <memory>
#include <vector>

struct ol_cluster_sessions {
    std::vector<oidc_logout::SessionStore::ClusterSession> sessions;
    std::vector<std::vector<const char *>> provider_sids;
};

namespace oidc_logout {
const char *redis_script(ol_cluster_script kind);
}

using namespace oidc_logout;
using namespace oidc_logout::c_api;

namespace {

/* A list of exported sessions (fill adds them), with their provider sids
 * as C strings; NULL on no memory. */
template <typename Fill>
ol_cluster_sessions *
exported(const Fill &fill) noexcept
{
    try {
        auto list = std::make_unique<ol_cluster_sessions>();
        fill(list->sessions);
        for (const auto &s : list->sessions) {
            list->provider_sids.emplace_back();
            for (const std::string &p : s.provider_sids) {
                list->provider_sids.back().push_back(p.c_str());
            }
        }
        return list.release();
    } catch (...) {
        return nullptr;
    }
}

} // namespace

extern "C" {

void
ol_cluster_enable(ol_store *store, const ol_arena *arena) noexcept
{
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).enable_cluster();
        return OL_OK;
    });
}

const char *
ol_cluster_script_text(ol_cluster_script kind) noexcept
{
    try {
        return redis_script(kind);
    } catch (...) {
        return "";
    }
}

int
ol_cluster_knows(ol_store *store, const ol_arena *arena, const char *handle,
                 size_t handle_len, uint64_t now) noexcept
{
    try {
        return store_of(store, arena)
                       .knows(view(handle, handle_len), seconds(now))
                   ? 1
                   : 0;
    } catch (...) {
        return 0;
    }
}

ol_cluster_sessions *
ol_cluster_changes(ol_store *store, const ol_arena *arena, uint64_t since,
                   int changed_only, size_t max) noexcept
{
    return exported([&](std::vector<SessionStore::ClusterSession> &out) {
        store_of(store, arena)
            .changes(seconds(since), changed_only != 0, max, out);
    });
}

ol_cluster_sessions *
ol_cluster_change_of(ol_store *store, const ol_arena *arena, const char *handle,
                     size_t handle_len, uint64_t now) noexcept
{
    return exported([&](std::vector<SessionStore::ClusterSession> &out) {
        uint8_t id[id_bytes];
        if (decode_id(view(handle, handle_len), id)) {
            store_of(store, arena).changes(seconds(now), true, 1, out, id);
        }
    });
}

size_t
ol_cluster_sessions_count(const ol_cluster_sessions *list) noexcept
{
    return list != nullptr ? list->sessions.size() : 0;
}

void
ol_cluster_session_get(const ol_cluster_sessions *list, size_t index,
                       ol_cluster_session *out) noexcept
{
    const SessionStore::ClusterSession &s = list->sessions[index];
    out->handle = s.handle.c_str();
    out->sid = s.sid.c_str();
    out->sub = s.sub.data();
    out->sub_len = s.sub.size();
    out->record = s.record.data();
    out->record_len = s.record.size();
    out->provider_sids = list->provider_sids[index].data();
    out->provider_sid_count = list->provider_sids[index].size();
    out->changed = s.changed;
    out->deadline = s.deadline;
    out->lifetime_end = s.lifetime_end;
}

void
ol_cluster_sessions_free(ol_cluster_sessions *list) noexcept
{
    delete list;
}

void
ol_cluster_written(ol_store *store, const ol_arena *arena, const char *sid,
                   uint32_t changed, uint64_t now) noexcept
{
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).written(sid, changed, seconds(now));
        return OL_OK;
    });
}

ol_status
ol_cluster_import(ol_store *store, const ol_arena *arena, const char *record,
                  size_t len, uint64_t now) noexcept
{
    return guarded(nullptr, 0, [&]() {
        return store_of(store, arena).import(view(record, len), seconds(now));
    });
}

int
ol_cluster_forget(ol_store *store, const ol_arena *arena, const char *sid,
                  size_t sid_len, uint64_t now) noexcept
{
    try {
        return store_of(store, arena).forget(view(sid, sid_len), seconds(now))
                   ? 1
                   : 0;
    } catch (...) {
        return 0;
    }
}

size_t
ol_cluster_unpublished(ol_store *store, const ol_arena *arena,
                       char (*sids)[OL_ID_TEXT_LEN + 1], ol_end_cause *causes,
                       size_t max) noexcept
{
    try {
        std::vector<std::pair<std::string, ol_end_cause>> out;
        store_of(store, arena).unpublished(max, out);
        for (size_t i = 0; i < out.size(); i++) {
            copy_text(sids[i], out[i].first);
            causes[i] = out[i].second;
        }
        return out.size();
    } catch (...) {
        return 0;
    }
}

int
ol_cluster_published(ol_store *store, const ol_arena *arena, const char *sid,
                     int won, const char *record, size_t record_len,
                     uint64_t now) noexcept
{
    return guarded(nullptr, 0, [&]() {
               return store_of(store, arena)
                              .published(sid, won != 0,
                                         view(record, record_len), seconds(now))
                          ? OL_OK
                          : OL_DENIED;
           }) == OL_OK;
}

ol_status
ol_cluster_enqueue(ol_store *store, const ol_arena *arena, const char *record,
                   size_t len, ol_end_cause cause, uint64_t now) noexcept
{
    if (cause >= OL_END_CAUSES) {
        return OL_INVALID;
    }
    return guarded(nullptr, 0, [&]() {
        return store_of(store, arena)
            .enqueue(view(record, len), cause, seconds(now));
    });
}

int
ol_cluster_cached(ol_store *store, const ol_arena *arena, uint64_t *cursor,
                  char (*sids)[OL_ID_TEXT_LEN + 1], size_t max,
                  size_t *count) noexcept
{
    *count = 0;
    try {
        std::vector<std::string> out;
        bool over = store_of(store, arena).cached(*cursor, max, out);
        for (size_t i = 0; i < out.size() && i < max; i++) {
            copy_text(sids[i], out[i]);
            ++*count;
        }
        return over ? 1 : 0;
    } catch (...) {
        return 1;
    }
}

int
ol_cluster_flag(ol_store *store, const ol_arena *arena,
                ol_cluster_flag_kind kind, int value) noexcept
{
    SessionStore s = store_of(store, arena);
    return s.cluster_flag(kind == OL_CLUSTER_DOWN ? &StoreRoot::cluster_down
                                                  : &StoreRoot::cluster_stale,
                          value)
               ? 1
               : 0;
}

void
ol_cluster_stream_position(ol_store *store, const ol_arena *arena, uint64_t *ms,
                           uint64_t *seq) noexcept
{
    *ms = 0;
    *seq = 0;
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).stream_position(*ms, *seq);
        return OL_OK;
    });
}

void
ol_cluster_set_stream_position(ol_store *store, const ol_arena *arena,
                               uint64_t ms, uint64_t seq) noexcept
{
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).set_stream_position(ms, seq);
        return OL_OK;
    });
}

void
ol_cluster_node(ol_store *store, const ol_arena *arena, char out[17]) noexcept
{
    out[0] = '\0';
    guarded(nullptr, 0, [&]() {
        std::string name = store_of(store, arena).node_name();
        std::memcpy(out, name.c_str(), 17);
        return OL_OK;
    });
}

void
ol_cluster_set_secret(ol_store *store, const ol_arena *arena,
                      const uint8_t *secret, size_t len) noexcept
{
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).set_secret(secret, len);
        return OL_OK;
    });
}

size_t
ol_cluster_memos(ol_store *store, const ol_arena *arena, ol_cluster_memo *out,
                 size_t max, uint64_t *upto) noexcept
{
    *upto = 0;
    try {
        std::vector<MemoChange> changes;
        *upto = store_of(store, arena).memo_changes(max, changes);
        for (size_t i = 0; i < changes.size(); i++) {
            out[i].table = changes[i].table;
            std::memcpy(out[i].key, changes[i].entry.key, sizeof(out[i].key));
            std::memcpy(out[i].sid, changes[i].entry.sid, sizeof(out[i].sid));
            out[i].expires = changes[i].entry.expires;
            out[i].client_hash = changes[i].entry.client_hash;
        }
        return changes.size();
    } catch (...) {
        return 0;
    }
}

void
ol_cluster_memos_published(ol_store *store, const ol_arena *arena,
                           uint64_t upto) noexcept
{
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).memos_published(upto);
        return OL_OK;
    });
}

void
ol_cluster_memo_apply(ol_store *store, const ol_arena *arena,
                      const ol_cluster_memo *memo, uint64_t now) noexcept
{
    guarded(nullptr, 0, [&]() {
        MemoChange c = {};
        c.table = memo->table;
        std::memcpy(c.entry.key, memo->key, sizeof(c.entry.key));
        std::memcpy(c.entry.sid, memo->sid, sizeof(c.entry.sid));
        c.entry.expires = memo->expires;
        c.entry.client_hash = memo->client_hash;
        store_of(store, arena).apply_memo(c, seconds(now));
        return OL_OK;
    });
}

int
ol_cluster_secret_is(ol_store *store, const ol_arena *arena,
                     const uint8_t *secret, size_t len) noexcept
{
    return store_of(store, arena).secret_is(secret, len) ? 1 : 0;
}

size_t
ol_cluster_unpublished_handles(ol_store *store, const ol_arena *arena,
                               char (*handles)[OL_ID_TEXT_LEN + 1],
                               size_t max) noexcept
{
    try {
        std::vector<std::string> out;
        store_of(store, arena).unpublished_handles(max, out);
        for (size_t i = 0; i < out.size(); i++) {
            copy_text(handles[i], out[i]);
        }
        return out.size();
    } catch (...) {
        return 0;
    }
}

void
ol_cluster_handle_published(ol_store *store, const ol_arena *arena,
                            const char *handle) noexcept
{
    guarded(nullptr, 0, [&]() {
        store_of(store, arena).handle_published(handle);
        return OL_OK;
    });
}

int
ol_cluster_handle_ended(ol_store *store, const ol_arena *arena,
                        const char *handle, size_t handle_len,
                        uint64_t now) noexcept
{
    try {
        return store_of(store, arena)
                       .handle_ended(view(handle, handle_len), seconds(now))
                   ? 1
                   : 0;
    } catch (...) {
        return 0;
    }
}

} // extern "C"
