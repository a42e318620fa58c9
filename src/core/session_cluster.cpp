// Cluster mode: the zone as one node's cache of the sessions Redis holds.
// Records in and out, ends heard from or told to Redis.
#include "session_store.hpp"
#include "session_store_parts.hpp"

#include "text.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <openssl/crypto.h>

namespace oidc_logout {

namespace {

/* Sessions changes() looks at, at most, from the newest. */
constexpr size_t changes_scan = 65536;

/*
 * A record, the value Redis keeps for a session: a version byte, the
 * handle, the sid, created (4 bytes, little-endian), the subject's length,
 * the client count, the data's length (2 bytes), then the data (subject,
 * then each client's entry, as a session's slots hold it).
 */
constexpr char record_version = 'S';
constexpr size_t record_head = 1 + 2 * id_bytes + 4 + 1 + 1 + 2;

struct Record {
    uint8_t handle[id_bytes];
    uint8_t sid[id_bytes];
    uint32_t created = 0;
    uint8_t sub_len = 0;
    uint8_t count = 0;
    std::string_view data;
};

/* The session of a raw copy (changes()), taken under the lock. */
struct Raw {
    uint8_t handle[id_bytes];
    uint8_t sid[id_bytes];
    uint32_t created, last_used, changed, deadline;
    uint8_t sub_len, count;
    uint16_t len;
    char data[OL_SESSION_DATA_MAX];
};

std::string
encode_record(const Raw &r)
{
    std::string out(record_head + r.len, '\0');
    char *p = out.data();
    *p++ = record_version;
    std::memcpy(p, r.handle, id_bytes);
    p += id_bytes;
    std::memcpy(p, r.sid, id_bytes);
    p += id_bytes;
    for (int i = 0; i < 4; i++) {
        *p++ = static_cast<char>(r.created >> (8 * i));
    }
    *p++ = static_cast<char>(r.sub_len);
    *p++ = static_cast<char>(r.count);
    *p++ = static_cast<char>(r.len & 0xff);
    *p++ = static_cast<char>(r.len >> 8);
    std::memcpy(p, r.data, r.len);
    return out;
}

/* Whether bytes are a whole record (it comes from the network: every
 * length is checked before the data is walked). */
bool
decode_record(std::string_view in, Record &out)
{
    if (in.size() < record_head || in[0] != record_version) {
        return false;
    }
    const auto *p = reinterpret_cast<const uint8_t *>(in.data()) + 1;
    std::memcpy(out.handle, p, id_bytes);
    p += id_bytes;
    std::memcpy(out.sid, p, id_bytes);
    p += id_bytes;
    out.created = 0;
    for (int i = 0; i < 4; i++) {
        out.created |= static_cast<uint32_t>(*p++) << (8 * i);
    }
    out.sub_len = *p++;
    out.count = *p++;
    size_t len = p[0] | static_cast<size_t>(p[1]) << 8;
    if (len != in.size() - record_head || len > OL_SESSION_DATA_MAX ||
        out.sub_len > len) {
        return false;
    }
    out.data = in.substr(record_head);
    size_t at = out.sub_len;
    for (unsigned i = 0; i < out.count; i++) {
        if (at >= len || at + 1 + static_cast<uint8_t>(out.data[at]) >= len) {
            return false;
        }
        size_t client = static_cast<uint8_t>(out.data[at]);
        if (client == 0) {
            return false;
        }
        at += 1 + client;
        at += 1 + static_cast<uint8_t>(out.data[at]);
        if (at > len) {
            return false;
        }
    }
    return at == len;
}

} // namespace

/* ---- what the zone holds ------------------------------------------------- */

uint32_t
SessionStore::deadline_of(const SessionNode *n) const
{
    uint32_t idle_end = root_->idle != 0 ? n->last_used + root_->idle : 0;
    uint32_t lifetime_end =
        root_->lifetime != 0 ? n->created + root_->lifetime : 0;
    if (lifetime_end != 0 && (idle_end == 0 || lifetime_end < idle_end)) {
        return lifetime_end;
    }
    return idle_end;
}

bool
SessionStore::knows(std::string_view handle_text, uint32_t now)
{
    uint8_t handle[id_bytes];
    if (!decode_id(handle_text, handle)) {
        return false;
    }
    Locked lock(*this);
    return find_handle(handle, now) != nullptr;
}

bool
SessionStore::handle_ended(std::string_view handle_text, uint32_t now)
{
    uint8_t key[sizeof(MemoEntry::key)];
    memo_key("ended-handle", handle_text, key);
    Locked lock(*this);
    return memo_find(root_->ended, root_->ended_sets, key, now) != nullptr;
}

void
SessionStore::remember_ended(const SessionNode *n, uint32_t now)
{
    MemoEntry e = {};
    memo_key("ended",
             std::string_view(reinterpret_cast<const char *>(n->sid), id_bytes),
             e.key);
    e.expires = now + ended_memory;
    memo_put(root_->ended, root_->ended_sets, e, now);
    memo_key("ended-handle", base64url_encode(n->handle, id_bytes), e.key);
    memo_put(root_->ended, root_->ended_sets, e, now);
}

void
SessionStore::changes(uint32_t since, bool changed_only, size_t max,
                      std::vector<ClusterSession> &out,
                      const uint8_t *only_handle)
{
    std::vector<Raw> raw(max); /* nothing is allocated under the lock */
    size_t count = 0;
    /* a deadline moves in Redis once it is that much later than the one
     * written (live sessions keep it in lease) */
    uint32_t step = root_->idle / 16 > 1 ? root_->idle / 16 : 1;
    auto copy = [&](const SessionNode *n, uint32_t deadline) {
        Raw &r = raw[count++];
        std::memcpy(r.handle, n->handle, id_bytes);
        std::memcpy(r.sid, n->sid, id_bytes);
        r.created = n->created;
        r.last_used = n->last_used;
        r.changed = n->due;
        r.deadline = deadline;
        r.sub_len = n->sub_len;
        r.count = n->client_count;
        r.len = static_cast<uint16_t>(read_data(n, r.data));
    };
    if (only_handle != nullptr && max > 0) {
        Locked lock(*this);
        const SessionNode *n = find_handle(only_handle, since);
        if (n != nullptr && n->due != 0) {
            copy(n, deadline_of(n));
        }
    } else {
        Locked lock(*this);
        size_t scanned = 0;
        for (SessionNode *n = root_->lru_newest;
             n != nullptr && n->last_used >= since && count < max &&
             scanned < changes_scan;
             n = n->lru_older, scanned++) {
            uint32_t deadline = deadline_of(n);
            if (n->due == 0 && (changed_only || (n->lease != 0 &&
                                                 deadline < n->lease + step))) {
                continue;
            }
            if (!changed_only && deadline != n->lease) {
                set(n->lease, deadline);
            }
            copy(n, deadline);
        }
    }
    for (size_t i = 0; i < count; i++) {
        const Raw &r = raw[i];
        ClusterSession s;
        s.handle = base64url_encode(r.handle, id_bytes);
        s.sid = base64url_encode(r.sid, id_bytes);
        s.sub.assign(r.data, r.sub_len);
        s.record = encode_record(r);
        s.changed = r.changed;
        s.lifetime_end = root_->lifetime != 0 ? r.created + root_->lifetime : 0;
        s.deadline = r.deadline;
        each_entry(r.data, r.sub_len, r.count,
                   [&](const char *, std::string_view, std::string_view psid) {
                       if (psid.empty() ||
                           psid.find('\n') != std::string_view::npos) {
                           return;
                       }
                       for (const std::string &known : s.provider_sids) {
                           if (known == psid) {
                               return;
                           }
                       }
                       s.provider_sids.emplace_back(psid);
                   });
        out.push_back(std::move(s));
    }
}

void
SessionStore::written(std::string_view sid_text, uint32_t changed, uint32_t now)
{
    uint8_t sid[id_bytes];
    if (!decode_id(sid_text, sid)) {
        return;
    }
    uint8_t ended[sizeof(MemoEntry::key)];
    memo_key("ended", std::string_view(reinterpret_cast<char *>(sid), id_bytes),
             ended);
    Locked lock(*this);
    for (SessionNode *n = *sid_bucket(sid); n != nullptr; n = n->next_by_sid) {
        if (CRYPTO_memcmp(n->sid, sid, id_bytes) == 0 && n->due == changed) {
            set(n->due, uint32_t{0});
            if (memo_find(root_->ended, root_->ended_sets, ended, now) !=
                nullptr) {
                /* the stream said it ended while this write was in
                 * flight (forget() kept it for the write): Redis took the
                 * write first, and the end told its clients */
                remember_ended(n, now);
                remove(n);
            }
            return;
        }
    }
}

ol_status
SessionStore::import(std::string_view record, uint32_t now)
{
    Record r;
    if (!decode_record(record, r)) {
        return OL_INVALID;
    }
    uint8_t ended[sizeof(MemoEntry::key)];
    memo_key("ended",
             std::string_view(reinterpret_cast<char *>(r.sid), id_bytes),
             ended);
    Locked lock(*this);
    if (memo_find(root_->ended, root_->ended_sets, ended, now) != nullptr) {
        return OL_DENIED; /* it ended here, or was heard to end */
    }
    /* the lookups first: nothing is removed between them and put() */
    SessionNode *same_handle = find_handle(r.handle, now);
    SessionNode *old = nullptr;
    for (SessionNode *n = *sid_bucket(r.sid); n != nullptr;
         n = n->next_by_sid) {
        old = CRYPTO_memcmp(n->sid, r.sid, id_bytes) == 0 ? n : old;
    }
    if (old != nullptr && old->due != 0) {
        /* changed here and not yet written: this node's copy is newer */
        touch(old, now);
        return OL_OK;
    }
    if (same_handle != nullptr && same_handle != old) {
        remove(same_handle);
        commit();
    }
    SessionNode *n =
        put(old, r.handle, r.sid, r.data, r.sub_len, r.count, r.created, now);
    return n != nullptr ? OL_OK : OL_NOMEM;
}

bool
SessionStore::forget(std::string_view sid_text, uint32_t now)
{
    uint8_t sid[id_bytes];
    if (!decode_id(sid_text, sid)) {
        return false;
    }
    MemoEntry e = {};
    memo_key("ended", std::string_view(reinterpret_cast<char *>(sid), id_bytes),
             e.key);
    e.expires = now + ended_memory;
    Locked lock(*this);
    memo_put(root_->ended, root_->ended_sets, e, now);
    commit();
    for (SessionNode *n = *sid_bucket(sid); n != nullptr; n = n->next_by_sid) {
        if (CRYPTO_memcmp(n->sid, sid, id_bytes) == 0) {
            if (n->due != 0) {
                /* changed here, not yet written (a join): its write,
                 * refused, tells the clients it adds, then drops it */
                return false;
            }
            remember_ended(n, now);
            remove(n);
            return true;
        }
    }
    return false;
}

/* ---- ends told to Redis -------------------------------------------------- */

void
SessionStore::outbox_ids(size_t max, uint8_t mask, uint8_t want,
                         std::vector<std::pair<std::string, uint8_t>> &out)
{
    std::vector<std::pair<std::array<uint8_t, id_bytes>, uint8_t>> raw;
    raw.reserve(max);
    {
        Locked lock(*this);
        size_t i = 0;
        for (const SessionNode *p = root_->outbox_oldest;
             p != nullptr && i < root_->pending_slot_count && raw.size() < max;
             p = p->lru_newer, i++) {
            if ((p->cause & mask) == want) {
                raw.emplace_back();
                std::memcpy(raw.back().first.data(), p->sid, id_bytes);
                raw.back().second = p->cause & ~cause_flags;
            }
        }
    }
    for (const auto &[id, cause] : raw) {
        out.emplace_back(base64url_encode(id.data(), id_bytes), cause);
    }
}

void
SessionStore::unpublished(
    size_t max, std::vector<std::pair<std::string, ol_end_cause>> &out)
{
    std::vector<std::pair<std::string, uint8_t>> ids;
    outbox_ids(max, cause_unpublished | cause_by_handle, cause_unpublished,
               ids);
    for (auto &[sid, cause] : ids) {
        out.emplace_back(std::move(sid), static_cast<ol_end_cause>(cause));
    }
}

void
SessionStore::end_unknown(std::string_view handle_text, uint32_t now)
{
    SessionNode from = {};
    if (!root_->cluster || !decode_id(handle_text, from.sid)) {
        return;
    }
    from.cause = static_cast<uint8_t>(OL_END_LOGOUT | cause_unpublished |
                                      cause_by_handle);
    from.due = now + publish_hold;
    from.last_used = now;
    Locked lock(*this);
    pending_put(&from, std::string_view(), 0, nullptr, nullptr);
}

void
SessionStore::unpublished_handles(size_t max, std::vector<std::string> &out)
{
    std::vector<std::pair<std::string, uint8_t>> ids;
    outbox_ids(max, cause_by_handle, cause_by_handle, ids);
    for (auto &id : ids) {
        out.push_back(std::move(id.first));
    }
}

void
SessionStore::handle_published(std::string_view handle_text)
{
    uint8_t handle[id_bytes];
    if (!decode_id(handle_text, handle)) {
        return;
    }
    Locked lock(*this);
    SessionNode *p = root_->outbox_oldest;
    for (size_t i = 0; p != nullptr && i < root_->pending_slot_count;
         p = p->lru_newer, i++) {
        if ((p->cause & cause_by_handle) != 0 &&
            CRYPTO_memcmp(p->sid, handle, id_bytes) == 0) {
            unqueue(p);
            return;
        }
    }
}

bool
SessionStore::published(std::string_view sid_text, bool won,
                        std::string_view record, uint32_t now)
{
    uint8_t sid[id_bytes];
    if (!decode_id(sid_text, sid)) {
        return false;
    }
    Record r;
    bool has_record = won && decode_record(record, r) &&
                      CRYPTO_memcmp(r.sid, sid, id_bytes) == 0;
    Locked lock(*this);
    SessionNode *p = root_->outbox_oldest;
    for (size_t i = 0; p != nullptr && i < root_->pending_slot_count;
         p = p->lru_newer, i++) {
        if ((p->cause & cause_unpublished) != 0 &&
            CRYPTO_memcmp(p->sid, sid, id_bytes) == 0) {
            break;
        }
    }
    if (p == nullptr || (p->cause & cause_unpublished) == 0) {
        return false; /* heard already */
    }
    if (!won) {
        /* another node ended it first, and notifies */
        unqueue(p);
        return true;
    }
    set(p->cause, static_cast<uint8_t>(p->cause & ~cause_unpublished));
    if (p->due > now) {
        set(p->due, now);
    }
    /* clients that joined on other nodes, unknown to this one's copy:
     * told in a pending session of their own */
    char data[OL_SESSION_DATA_MAX];
    read_data(p, data);
    char extra[OL_SESSION_DATA_MAX];
    std::memcpy(extra, data, p->sub_len);
    size_t len = p->sub_len;
    unsigned count = 0;
    if (has_record && (p->cause & cause_told) == 0) {
        each_entry(r.data.data(), r.sub_len, r.count,
                   [&](const char *, std::string_view c, std::string_view ps) {
                       bool known = false;
                       each_entry(data, p->sub_len, p->client_count,
                                  [&](const char *, std::string_view mine,
                                      std::string_view) {
                                      known = known || mine == c;
                                  });
                       if (!known &&
                           len + 2 + c.size() + ps.size() <= sizeof(extra)) {
                           len += put_entry(extra + len, c, ps);
                           count++;
                       }
                   });
    }
    if (p->client_count == 0 && count == 0) {
        unqueue(p);
        return true;
    }
    if (count > 0) {
        SessionNode *q =
            pending_put(p, std::string_view(extra, len), count, p, nullptr);
        if (q != nullptr) {
            set(q->due, now);
            set(q->lease, uint32_t{0});
            set(q->attempts, uint16_t{0});
        }
    }
    if (p->client_count == 0) {
        unqueue(p);
    }
    return true;
}

ol_status
SessionStore::enqueue(std::string_view record, ol_end_cause cause, uint32_t now)
{
    Record r;
    if (!decode_record(record, r)) {
        return OL_INVALID;
    }
    MemoEntry e = {};
    memo_key("ended",
             std::string_view(reinterpret_cast<char *>(r.sid), id_bytes),
             e.key);
    e.expires = now + ended_memory;
    Locked lock(*this);
    memo_put(root_->ended, root_->ended_sets, e, now);
    commit();
    for (SessionNode *n = *sid_bucket(r.sid); n != nullptr;
         n = n->next_by_sid) {
        if (CRYPTO_memcmp(n->sid, r.sid, id_bytes) == 0) {
            remove(n);
            commit();
            break;
        }
    }
    uint64_t i = 0;
    for (const SessionNode *q = root_->outbox_oldest;
         q != nullptr && i < root_->pending_slot_count; q = q->lru_newer, i++) {
        if (CRYPTO_memcmp(q->sid, r.sid, id_bytes) == 0) {
            return OL_OK; /* ended here too: that end notifies */
        }
    }
    count_end(cause);
    if (r.count == 0) {
        return OL_OK;
    }
    SessionNode from = {};
    std::memcpy(from.sid, r.sid, id_bytes);
    from.created = r.created;
    from.sub_hash = text_hash(r.data.substr(0, r.sub_len));
    from.sub_len = r.sub_len;
    from.cause = static_cast<uint8_t>(cause);
    SessionNode *p = pending_put(&from, r.data, r.count, nullptr, nullptr);
    if (p == nullptr) {
        return OL_NOMEM;
    }
    set(p->last_used, now);
    set(p->due, now);
    return OL_OK;
}

/* ---- remembered values, for the other nodes ------------------------------ */

void
SessionStore::memo_log(const MemoEntry *table, const MemoEntry &entry)
{
    uint32_t kind = UINT32_MAX;
    if (table == root_->codes) {
        kind = OL_MEMO_CODES;
    } else if (table == root_->revoked) {
        kind = OL_MEMO_REVOKED;
    } else if (table == root_->jtis) {
        kind = OL_MEMO_JTIS;
    }
    if (!root_->cluster || kind == UINT32_MAX || root_->memo_log_size == 0) {
        return;
    }
    MemoChange &c = root_->memo_log[root_->memo_logged % root_->memo_log_size];
    set(c.table, kind);
    set_bytes(c.entry.key, entry.key, sizeof(entry.key));
    set_bytes(c.entry.sid, entry.sid, sizeof(entry.sid));
    set(c.entry.expires, entry.expires);
    set(c.entry.client_hash, entry.client_hash);
    set(root_->memo_logged, root_->memo_logged + 1);
}

uint64_t
SessionStore::memo_changes(size_t max, std::vector<MemoChange> &out)
{
    out.reserve(out.size() + max); /* nothing is allocated under the lock */
    Locked lock(*this);
    uint64_t from = root_->memo_published;
    if (root_->memo_logged - from > root_->memo_log_size) {
        from = root_->memo_logged - root_->memo_log_size; /* overwritten */
    }
    uint64_t upto = from;
    for (; upto < root_->memo_logged && upto - from < max; upto++) {
        out.push_back(root_->memo_log[upto % root_->memo_log_size]);
    }
    return upto;
}

void
SessionStore::memos_published(uint64_t upto)
{
    Locked lock(*this);
    if (upto > root_->memo_published && upto <= root_->memo_logged) {
        set(root_->memo_published, upto);
    }
}

void
SessionStore::apply_memo(const MemoChange &change, uint32_t now)
{
    MemoEntry *table = change.table == OL_MEMO_CODES     ? root_->codes
                       : change.table == OL_MEMO_REVOKED ? root_->revoked
                       : change.table == OL_MEMO_JTIS    ? root_->jtis
                                                         : nullptr;
    if (table == nullptr || (change.entry.key[0] & 1) == 0) {
        return; /* not a key this module makes */
    }
    uint64_t sets = table == root_->codes     ? root_->code_sets
                    : table == root_->revoked ? root_->revoked_sets
                                              : root_->jti_sets;
    Locked lock(*this);
    MemoEntry *e = memo_find(table, sets, change.entry.key, now);
    if (change.entry.expires == 0) {
        if (e != nullptr) {
            set(e->expires, uint32_t{0}); /* taken on another node */
        }
        return;
    }
    /* as memo_put, without logging it again */
    uint32_t cluster = root_->cluster;
    root_->cluster = 0;
    memo_put(table, sets, change.entry, now);
    root_->cluster = cluster;
}

/* ---- the resync, the flags ----------------------------------------------- */

bool
SessionStore::cached(uint64_t &cursor, size_t max,
                     std::vector<std::string> &out)
{
    std::vector<std::array<uint8_t, id_bytes>> raw;
    raw.reserve(max);
    bool over = false;
    {
        Locked lock(*this);
        /* cursor: the bucket, and how many of its chain are listed */
        uint64_t b = cursor >> 16;
        uint64_t skip = cursor & 0xffff;
        while (b <= root_->bucket_mask && raw.size() < max) {
            uint64_t at = 0;
            const SessionNode *n = root_->by_sid[b];
            for (; n != nullptr && raw.size() < max; n = n->next_by_sid, at++) {
                if (at >= skip) {
                    raw.emplace_back();
                    std::memcpy(raw.back().data(), n->sid, id_bytes);
                }
            }
            if (n != nullptr && at < 0xffff) {
                skip = at; /* the rest of this chain next time */
                break;
            }
            b++;
            skip = 0;
        }
        over = b > root_->bucket_mask;
        cursor = b << 16 | skip;
    }
    for (const auto &sid : raw) {
        out.push_back(base64url_encode(sid.data(), id_bytes));
    }
    return over;
}

void
SessionStore::enable_cluster()
{
    Locked lock(*this, false); /* the master's, as configure() */
    root_->cluster = 1;
}

bool
SessionStore::cluster_flag(uint32_t StoreRoot::*flag, int value)
{
    uint32_t *word = &(root_->*flag);
    if (value < 0) {
        return __atomic_load_n(word, __ATOMIC_ACQUIRE) != 0;
    }
    uint32_t was = __atomic_exchange_n(word, static_cast<uint32_t>(value),
                                       __ATOMIC_ACQ_REL);
    return was != static_cast<uint32_t>(value);
}

void
SessionStore::stream_position(uint64_t &ms, uint64_t &seq)
{
    Locked lock(*this);
    ms = root_->stream_ms;
    seq = root_->stream_seq;
}

void
SessionStore::set_stream_position(uint64_t ms, uint64_t seq)
{
    Locked lock(*this);
    if (ms > root_->stream_ms ||
        (ms == root_->stream_ms && seq > root_->stream_seq)) {
        set(root_->stream_ms, ms);
        set(root_->stream_seq, seq);
    }
}

std::string
SessionStore::node_name() const
{
    char out[2 * sizeof(root_->node) + 1];
    for (size_t i = 0; i < sizeof(root_->node); i++) {
        std::snprintf(out + 2 * i, 3, "%02x", root_->node[i]);
    }
    return out;
}

void
SessionStore::set_secret(const uint8_t *secret, size_t len)
{
    Locked lock(*this);
    if (len == sizeof(root_->secret) &&
        std::memcmp(root_->secret, secret, len) != 0) {
        std::memcpy(root_->secret, secret, len);
    }
}

bool
SessionStore::secret_is(const uint8_t *secret, size_t len) const
{
    /* written once per connection, read without the lock: a torn read
     * only makes the check run once more */
    return len == sizeof(root_->secret) &&
           CRYPTO_memcmp(root_->secret, secret, len) == 0;
}

} // namespace oidc_logout
