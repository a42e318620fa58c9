#include "session_store.hpp"

#include "text.hpp"

#include <cstddef>
#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace oidc_logout {

namespace {

constexpr uint32_t store_magic = 0x4f4c5353; /* "OLSS" */
/* Bumped whenever the meaning of the data changes; sizes catch the rest. */
constexpr uint32_t store_format = 4;
constexpr uint32_t store_layout = static_cast<uint32_t>(
    store_format << 24 | sizeof(StoreRoot) << 12 | sizeof(SessionNode));
/* Expired sessions looked at, from the oldest, before forcing one out. */
constexpr int expire_scan = 32;
/* Least recently used sessions forced out, at most, to make room for one
 * allocation. */
constexpr int evict_max = 4;
/* How far from the oldest end eviction looks for a session of the size it
 * needs. */
constexpr int evict_scan = 64;
/* Smallest allocation of a session: one size class (a slab pool's) for the
 * common sessions, so that what eviction frees is what logins need. */
constexpr size_t min_capacity = 256;

size_t
node_size(size_t data_len)
{
    return offsetof(SessionNode, data) + data_len;
}

/* The allocation for a node of size bytes: a power of two, at least
 * min_capacity (the size classes of a slab pool). */
size_t
capacity_for(size_t size)
{
    size_t c = min_capacity;
    while (c < size) {
        c <<= 1;
    }
    return c;
}

uint32_t
id_hash(const uint8_t *id)
{
    uint32_t h;
    std::memcpy(&h, id, sizeof(h)); /* ids are random */
    return h;
}

uint32_t
text_hash(std::string_view s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (char c : s) {
        h ^= static_cast<uint8_t>(c);
        h *= 16777619u;
    }
    return h;
}

std::string_view
node_sub(const SessionNode *n)
{
    return std::string_view(n->data, n->sub_len);
}

size_t
round_up_pow2(size_t n)
{
    size_t p = 1;
    while (p < n) {
        p <<= 1;
    }
    return p;
}

} // namespace

/* Holds the arena's lock for a scope. */
class SessionStore::Locked {
  public:
    explicit Locked(const ol_arena &arena) : arena_(arena)
    {
        arena_.lock(arena_.data);
    }
    ~Locked()
    {
        arena_.unlock(arena_.data);
    }
    Locked(const Locked &) = delete;
    Locked &operator=(const Locked &) = delete;

  private:
    const ol_arena &arena_;
};

StoreRoot *
SessionStore::create(const ol_arena &arena, size_t zone_size)
{
    /* about two sessions a bucket when the zone is full (sessions take
     * 128 or 256 bytes of a slab pool) */
    size_t buckets = round_up_pow2(zone_size / 512);
    if (buckets < 64) {
        buckets = 64;
    }
    Locked lock(arena);
    auto *root =
        static_cast<StoreRoot *>(arena.alloc(arena.data, sizeof(StoreRoot)));
    if (root == nullptr) {
        return nullptr;
    }
    std::memset(root, 0, sizeof(*root));
    SessionNode ***indexes[] = {&root->by_handle, &root->by_sid, &root->by_sub};
    for (SessionNode ***index : indexes) {
        *index = static_cast<SessionNode **>(
            arena.alloc(arena.data, buckets * sizeof(SessionNode *)));
        if (*index == nullptr) {
            return nullptr; /* the arena is discarded by its owner */
        }
        std::memset(*index, 0, buckets * sizeof(SessionNode *));
    }
    if (!random_bytes(root->secret, sizeof(root->secret))) {
        return nullptr;
    }
    root->magic = store_magic;
    root->layout = store_layout;
    root->bucket_mask = static_cast<uint32_t>(buckets - 1);
    return root;
}

const char *
SessionStore::incompatible(const StoreRoot *root)
{
    if (root->magic != store_magic) {
        return "the zone does not hold sessions of this module";
    }
    if (root->layout != store_layout) {
        return "the zone holds sessions of another version of this module";
    }
    return nullptr;
}

void
SessionStore::configure(uint32_t idle, uint32_t lifetime)
{
    Locked lock(arena_);
    root_->idle = idle;
    root_->lifetime = lifetime;
}

SessionNode **
SessionStore::handle_bucket(const uint8_t *handle) const
{
    return &root_->by_handle[id_hash(handle) & root_->bucket_mask];
}

SessionNode **
SessionStore::sid_bucket(const uint8_t *sid) const
{
    return &root_->by_sid[id_hash(sid) & root_->bucket_mask];
}

SessionNode **
SessionStore::sub_bucket(uint32_t hash) const
{
    return &root_->by_sub[hash & root_->bucket_mask];
}

bool
SessionStore::expired(const SessionNode *n, uint32_t now) const
{
    return (root_->idle != 0 && now - n->last_used >= root_->idle &&
            now >= n->last_used) ||
           (root_->lifetime != 0 && now - n->created >= root_->lifetime &&
            now >= n->created);
}

void
SessionStore::link(SessionNode *n)
{
    SessionNode **b = handle_bucket(n->handle);
    n->next_by_handle = *b;
    *b = n;
    b = sid_bucket(n->sid);
    n->next_by_sid = *b;
    *b = n;
    b = sub_bucket(n->sub_hash);
    n->next_by_sub = *b;
    n->prev_by_sub = nullptr;
    if (*b != nullptr) {
        (*b)->prev_by_sub = n;
    }
    *b = n;

    n->lru_newer = nullptr;
    n->lru_older = root_->lru_newest;
    if (root_->lru_newest != nullptr) {
        root_->lru_newest->lru_newer = n;
    } else {
        root_->lru_oldest = n;
    }
    root_->lru_newest = n;
    root_->stats.sessions++;
}

namespace {

/* Replaces old_node by new_node (may be nullptr) in one hash chain. */
void
rechain(SessionNode **bucket, SessionNode *SessionNode::*next,
        const SessionNode *old_node, SessionNode *new_node)
{
    for (SessionNode **p = bucket; *p != nullptr; p = &((*p)->*next)) {
        if (*p == old_node) {
            *p = new_node != nullptr ? new_node : old_node->*next;
            return;
        }
    }
}

} // namespace

void
SessionStore::unlink(SessionNode *n)
{
    rechain(handle_bucket(n->handle), &SessionNode::next_by_handle, n, nullptr);
    rechain(sid_bucket(n->sid), &SessionNode::next_by_sid, n, nullptr);
    /* a subject's sessions share a chain: unlink in constant time */
    (n->prev_by_sub ? n->prev_by_sub->next_by_sub : *sub_bucket(n->sub_hash)) =
        n->next_by_sub;
    if (n->next_by_sub != nullptr) {
        n->next_by_sub->prev_by_sub = n->prev_by_sub;
    }

    (n->lru_newer ? n->lru_newer->lru_older : root_->lru_newest) = n->lru_older;
    (n->lru_older ? n->lru_older->lru_newer : root_->lru_oldest) = n->lru_newer;
    root_->stats.sessions--;
}

void
SessionStore::replace(SessionNode *old_node, SessionNode *new_node)
{
    /* new_node is a copy of old_node: same keys and neighbours */
    rechain(handle_bucket(old_node->handle), &SessionNode::next_by_handle,
            old_node, new_node);
    rechain(sid_bucket(old_node->sid), &SessionNode::next_by_sid, old_node,
            new_node);
    (old_node->prev_by_sub ? old_node->prev_by_sub->next_by_sub
                           : *sub_bucket(old_node->sub_hash)) = new_node;
    if (old_node->next_by_sub != nullptr) {
        old_node->next_by_sub->prev_by_sub = new_node;
    }
    (old_node->lru_newer ? old_node->lru_newer->lru_older : root_->lru_newest) =
        new_node;
    (old_node->lru_older ? old_node->lru_older->lru_newer : root_->lru_oldest) =
        new_node;
}

void
SessionStore::remove(SessionNode *n)
{
    unlink(n);
    arena_.free(arena_.data, n);
}

void
SessionStore::touch(SessionNode *n, uint32_t now)
{
    n->last_used = now;
    if (root_->lru_newest == n) {
        return;
    }
    /* move to the newest end */
    n->lru_newer->lru_older = n->lru_older;
    (n->lru_older ? n->lru_older->lru_newer : root_->lru_oldest) = n->lru_newer;
    n->lru_older = root_->lru_newest;
    n->lru_newer = nullptr;
    root_->lru_newest->lru_newer = n;
    root_->lru_newest = n;
}

bool
SessionStore::drop_if_expired(SessionNode *n, uint32_t now)
{
    if (!expired(n, now)) {
        return false;
    }
    root_->stats.expired++;
    remove(n);
    return true;
}

SessionNode *
SessionStore::find_id(SessionNode *const *bucket,
                      SessionNode *SessionNode::*next,
                      uint8_t (SessionNode::*key)[id_bytes], const uint8_t *id,
                      uint32_t now)
{
    for (SessionNode *n = *bucket; n != nullptr; n = n->*next) {
        if (CRYPTO_memcmp(n->*key, id, id_bytes) == 0) {
            return drop_if_expired(n, now) ? nullptr : n;
        }
    }
    return nullptr;
}

SessionNode *
SessionStore::find_handle(const uint8_t *handle, uint32_t now)
{
    return find_id(handle_bucket(handle), &SessionNode::next_by_handle,
                   &SessionNode::handle, handle, now);
}

SessionNode *
SessionStore::find_sid(const uint8_t *sid, uint32_t now)
{
    return find_id(sid_bucket(sid), &SessionNode::next_by_sid,
                   &SessionNode::sid, sid, now);
}

SessionNode *
SessionStore::allocate(size_t capacity, const SessionNode *keep, uint32_t now)
{
    void *p = arena_.alloc(arena_.data, capacity);
    if (p == nullptr) {
        /* expired sessions go first ... */
        SessionNode *n = root_->lru_oldest;
        for (int i = 0; i < expire_scan && n != nullptr; i++) {
            SessionNode *newer = n->lru_newer;
            if (n != keep) {
                drop_if_expired(n, now);
            }
            n = newer;
        }
        p = arena_.alloc(arena_.data, capacity);
    }
    /* ... then the least recently used, preferring those of the size
     * needed: a freed chunk of another size class does not help */
    for (int i = 0; p == nullptr && i < evict_max; i++) {
        SessionNode *victim = nullptr;
        SessionNode *n = root_->lru_oldest;
        for (int k = 0; k < evict_scan && n != nullptr; k++, n = n->lru_newer) {
            if (n == keep) {
                continue;
            }
            if (victim == nullptr) {
                victim = n;
            }
            if (n->capacity == capacity) {
                victim = n;
                break;
            }
        }
        if (victim == nullptr) {
            break;
        }
        root_->stats.evicted++;
        remove(victim);
        p = arena_.alloc(arena_.data, capacity);
    }
    if (p == nullptr) {
        root_->stats.alloc_failures++;
        return nullptr;
    }
    auto *node = static_cast<SessionNode *>(p);
    node->capacity = static_cast<uint16_t>(capacity);
    return node;
}

void
SessionStore::copy_info(const SessionNode *n, ol_session_info *info) const
{
    if (info == nullptr) {
        return;
    }
    /* raw bytes under the lock; finish_info() encodes them after */
    std::memcpy(info->sid, n->sid, id_bytes);
    std::memcpy(info->sub, n->data, n->sub_len);
    info->sub[n->sub_len] = '\0';
    info->sub_len = n->sub_len;
    info->created = n->created;
    info->last_used = n->last_used;
    info->client_count = n->client_count;
    /* length-prefixed ids become NUL-terminated ones of the same size */
    char *out = info->clients;
    const char *p = n->data + n->sub_len;
    for (unsigned i = 0; i < n->client_count; i++) {
        uint8_t len = static_cast<uint8_t>(*p++);
        std::memcpy(out, p, len);
        out[len] = '\0';
        out += len + 1;
        p += len;
    }
}

void
SessionStore::finish_info(ol_session_info *info)
{
    if (info == nullptr) {
        return;
    }
    uint8_t raw[id_bytes];
    std::memcpy(raw, info->sid, id_bytes);
    std::string sid = base64url_encode(raw, id_bytes);
    std::memcpy(info->sid, sid.data(), id_text_length + 1);
}

ol_status
SessionStore::login(std::string_view handle_text, std::string_view sub,
                    uint32_t now, ol_login_result &out)
{
    out = ol_login_result();
    /* the subject goes into JSON logout tokens: UTF-8 text only */
    if (sub.empty() || sub.size() > OL_SUB_MAX || !is_utf8(sub)) {
        return OL_INVALID;
    }
    uint8_t old_handle[id_bytes];
    bool has_old = decode_id(handle_text, old_handle);

    /* the random ids and their text are made before taking the lock */
    uint8_t ids[2 * id_bytes];
    if (!random_bytes(ids, sizeof(ids))) {
        return OL_INTERNAL;
    }
    std::string handle = base64url_encode(ids, id_bytes);
    uint8_t sid[id_bytes];
    std::memcpy(sid, ids + id_bytes, id_bytes);
    uint32_t hash = text_hash(sub);

    {
        Locked lock(arena_);
        uint64_t evicted_before = root_->stats.evicted;
        SessionNode *n = has_old ? find_handle(old_handle, now) : nullptr;
        if (n != nullptr && node_sub(n) == sub) {
            /* the same subject keeps its session under a fresh handle */
            rechain(handle_bucket(n->handle), &SessionNode::next_by_handle, n,
                    nullptr);
            std::memcpy(n->handle, ids, id_bytes);
            SessionNode **b = handle_bucket(n->handle);
            n->next_by_handle = *b;
            *b = n;
            touch(n, now);
            std::memcpy(sid, n->sid, id_bytes);
        } else {
            if (n != nullptr) {
                remove(n);
                root_->stats.ended++;
                out.previous_ended = 1;
            }
            n = allocate(capacity_for(node_size(sub.size())), nullptr, now);
            out.evicted =
                static_cast<unsigned>(root_->stats.evicted - evicted_before);
            if (n == nullptr) {
                return OL_NOMEM;
            }
            uint16_t capacity = n->capacity;
            std::memset(n, 0, offsetof(SessionNode, data));
            n->capacity = capacity;
            std::memcpy(n->handle, ids, id_bytes);
            std::memcpy(n->sid, sid, id_bytes);
            n->created = now;
            n->last_used = now;
            n->sub_hash = hash;
            n->sub_len = static_cast<uint8_t>(sub.size());
            n->data_len = static_cast<uint16_t>(sub.size());
            std::memcpy(n->data, sub.data(), sub.size());
            link(n);
            root_->stats.created++;
            out.created = 1;
        }
    }
    std::string sid_text = base64url_encode(sid, id_bytes);
    std::memcpy(out.handle, handle.data(), id_text_length + 1);
    std::memcpy(out.sid, sid_text.data(), id_text_length + 1);
    return OL_OK;
}

ol_status
SessionStore::join(std::string_view handle_text, std::string_view client,
                   uint32_t now, ol_session_info *info, unsigned &evicted)
{
    evicted = 0;
    uint8_t handle[id_bytes];
    if (!decode_id(handle_text, handle)) {
        return OL_DENIED;
    }
    if (client.empty() || client.size() > OL_CLIENT_ID_MAX) {
        return OL_INVALID;
    }
    ol_status rc = join_locked(handle, client, now, info, evicted);
    if (rc == OL_OK) {
        finish_info(info);
    }
    return rc;
}

ol_status
SessionStore::join_locked(const uint8_t *handle, std::string_view client,
                          uint32_t now, ol_session_info *info,
                          unsigned &evicted)
{
    Locked lock(arena_);
    SessionNode *n = find_handle(handle, now);
    if (n == nullptr) {
        return OL_DENIED;
    }
    touch(n, now);

    const char *p = n->data + n->sub_len;
    for (unsigned i = 0; i < n->client_count; i++) {
        uint8_t len = static_cast<uint8_t>(*p);
        if (std::string_view(p + 1, len) == client) {
            copy_info(n, info);
            return OL_OK;
        }
        p += 1 + len;
    }
    size_t data_len = n->data_len + 1 + client.size();
    if (data_len > OL_SESSION_DATA_MAX || n->client_count == UINT8_MAX) {
        return OL_INVALID;
    }
    if (node_size(data_len) > n->capacity) {
        uint64_t evicted_before = root_->stats.evicted;
        SessionNode *grown =
            allocate(capacity_for(node_size(data_len)), n, now);
        evicted = static_cast<unsigned>(root_->stats.evicted - evicted_before);
        if (grown == nullptr) {
            return OL_NOMEM;
        }
        uint16_t capacity = grown->capacity;
        std::memcpy(grown, n, node_size(n->data_len));
        grown->capacity = capacity;
        replace(n, grown);
        arena_.free(arena_.data, n);
        n = grown;
    }
    char *end = n->data + n->data_len;
    *end++ = static_cast<char>(client.size());
    std::memcpy(end, client.data(), client.size());
    n->data_len = static_cast<uint16_t>(data_len);
    n->client_count++;
    copy_info(n, info);
    return OL_OK;
}

template <typename Act>
ol_status
SessionStore::with_session(std::string_view id_text,
                           SessionNode *(SessionStore::*lookup)(const uint8_t *,
                                                                uint32_t),
                           uint32_t now, ol_session_info *info, Act act)
{
    uint8_t id[id_bytes];
    if (!decode_id(id_text, id)) {
        return OL_DENIED;
    }
    {
        Locked lock(arena_);
        SessionNode *n = (this->*lookup)(id, now);
        if (n == nullptr) {
            return OL_DENIED;
        }
        copy_info(n, info);
        act(n);
    }
    finish_info(info);
    return OL_OK;
}

ol_status
SessionStore::find(std::string_view handle_text, uint32_t now, bool touch_it,
                   ol_session_info *info)
{
    return with_session(handle_text, &SessionStore::find_handle, now, info,
                        [&](SessionNode *n) {
                            if (touch_it) {
                                touch(n, now);
                            }
                        });
}

ol_status
SessionStore::find_by_sid(std::string_view sid_text, uint32_t now,
                          ol_session_info *info)
{
    return with_session(sid_text, &SessionStore::find_sid, now, info,
                        [](SessionNode *) {});
}

size_t
SessionStore::list_by_sub(std::string_view sub, uint32_t now,
                          ol_session_info *infos, size_t max)
{
    uint32_t hash = text_hash(sub);
    size_t count = 0;
    {
        Locked lock(arena_);
        SessionNode *n = *sub_bucket(hash);
        while (n != nullptr && count < max) {
            SessionNode *next = n->next_by_sub;
            if (n->sub_hash == hash && node_sub(n) == sub &&
                !drop_if_expired(n, now)) {
                copy_info(n, infos ? &infos[count] : nullptr);
                count++;
            }
            n = next;
        }
    }
    for (size_t i = 0; infos != nullptr && i < count; i++) {
        finish_info(&infos[i]);
    }
    return count;
}

ol_status
SessionStore::end(std::string_view handle_text, uint32_t now,
                  ol_session_info *info)
{
    return with_session(handle_text, &SessionStore::find_handle, now, info,
                        [&](SessionNode *n) {
                            remove(n);
                            root_->stats.ended++;
                        });
}

void
SessionStore::count_delivery(ol_delivery_outcome outcome)
{
    Locked lock(arena_);
    switch (outcome) {
    case OL_DELIVERY_DELIVERED:
        root_->stats.backchannel_delivered++;
        break;
    case OL_DELIVERY_RETRIED:
        root_->stats.backchannel_retried++;
        break;
    case OL_DELIVERY_FAILED:
        root_->stats.backchannel_failed++;
        break;
    }
}

void
SessionStore::stats(ol_store_stats &out)
{
    Locked lock(arena_);
    out = root_->stats;
}

std::string
SessionStore::csrf_token(std::string_view handle_text) const
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    /* the secret is written once, before any worker starts: no lock */
    if (HMAC(EVP_sha256(), root_->secret, sizeof(root_->secret),
             reinterpret_cast<const unsigned char *>(handle_text.data()),
             handle_text.size(), mac, &len) == nullptr) {
        return std::string();
    }
    return base64url_encode(mac, len);
}

const char *
SessionStore::verify()
{
    Locked lock(arena_);
    uint64_t in_lru = 0;
    const SessionNode *newer = nullptr;
    for (const SessionNode *n = root_->lru_newest; n; n = n->lru_older) {
        if (n->lru_newer != newer) {
            return "LRU list: broken back link";
        }
        if (node_size(n->data_len) > n->capacity) {
            return "a session holds more than its allocation";
        }
        if (++in_lru > root_->stats.sessions) {
            return "LRU list: more sessions than counted (or a cycle)";
        }
        newer = n;
    }
    if (newer != root_->lru_oldest) {
        return "LRU list: oldest end is wrong";
    }
    if (in_lru != root_->stats.sessions) {
        return "LRU list: fewer sessions than counted";
    }
    struct Index {
        SessionNode **buckets;
        SessionNode *SessionNode::*next;
    } indexes[] = {{root_->by_handle, &SessionNode::next_by_handle},
                   {root_->by_sid, &SessionNode::next_by_sid},
                   {root_->by_sub, &SessionNode::next_by_sub}};
    for (const Index &index : indexes) {
        uint64_t found = 0;
        for (uint32_t b = 0; b <= root_->bucket_mask; b++) {
            for (const SessionNode *n = index.buckets[b]; n;
                 n = n->*index.next) {
                uint32_t want =
                    index.buckets == root_->by_handle ? id_hash(n->handle)
                    : index.buckets == root_->by_sid  ? id_hash(n->sid)
                                                      : n->sub_hash;
                if ((want & root_->bucket_mask) != b) {
                    return "an index holds a session in the wrong bucket";
                }
                if (++found > root_->stats.sessions) {
                    return "an index holds more sessions than counted";
                }
            }
        }
        if (index.buckets != root_->by_sub) {
            continue;
        }
        for (uint32_t b = 0; b <= root_->bucket_mask; b++) {
            const SessionNode *prev = nullptr;
            for (const SessionNode *n = root_->by_sub[b]; n;
                 n = n->next_by_sub) {
                if (n->prev_by_sub != prev) {
                    return "the subject index: broken back link";
                }
                prev = n;
            }
        }
        if (found != root_->stats.sessions) {
            return "an index holds fewer sessions than counted";
        }
    }
    return nullptr;
}

} // namespace oidc_logout
