#include "session_store.hpp"
#include "session_store_parts.hpp"

#include "text.hpp"

#include <cstddef>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace oidc_logout {

void
SessionStore::record(void *address, size_t size)
{
    uint32_t length = root_->journal_length;
    if (length == journal_max) {
        /* no step writes that much (a removal is about 20 stores) */
        commit();
        length = 0;
    }
    JournalEntry &e = root_->journal[length];
    e.address = reinterpret_cast<uintptr_t>(address);
    e.size = static_cast<uint32_t>(size);
    e.old_value = 0;
    std::memcpy(&e.old_value, address, size);
    ordered();
    *static_cast<volatile uint32_t *>(&root_->journal_length) = length + 1;
    ordered();
}

void
SessionStore::set_bytes(uint8_t *field, const uint8_t *value, size_t len)
{
    for (size_t i = 0; i < len; i += sizeof(uint64_t)) {
        size_t n = len - i < sizeof(uint64_t) ? len - i : sizeof(uint64_t);
        record(field + i, n);
        std::memcpy(field + i, value + i, n);
    }
}

void
SessionStore::commit()
{
    ordered();
    *static_cast<volatile uint32_t *>(&root_->journal_length) = 0;
    ordered();
}

bool
SessionStore::journaled(uintptr_t address, size_t size) const
{
    if ((size != 1 && size != 2 && size != 4 && size != 8) ||
        address % size != 0) {
        return false;
    }
    /* offsets from each start: nothing wraps around */
    auto inside = [&](const void *start, size_t len) {
        auto begin = reinterpret_cast<uintptr_t>(start);
        return address >= begin && address - begin <= len - size;
    };
    size_t index_bytes = (size_t{root_->bucket_mask} + 1) * sizeof(void *);
    return inside(&root_->lru_newest, offsetof(StoreRoot, secret) -
                                          offsetof(StoreRoot, lru_newest)) ||
           inside(root_->by_handle, index_bytes) ||
           inside(root_->by_sid, index_bytes) ||
           inside(root_->by_sub, index_bytes) ||
           inside(root_->slots, root_->slot_count * slot_size) ||
           inside(root_->pending_slots,
                  root_->pending_slot_count * slot_size) ||
           inside(root_->codes,
                  root_->code_sets * memo_ways * sizeof(MemoEntry)) ||
           inside(root_->revoked,
                  root_->revoked_sets * memo_ways * sizeof(MemoEntry)) ||
           inside(root_->jtis,
                  root_->jti_sets * memo_ways * sizeof(MemoEntry)) ||
           inside(root_->ended,
                  root_->ended_sets * memo_ways * sizeof(MemoEntry)) ||
           inside(root_->memo_log, root_->memo_log_size * sizeof(MemoChange));
}

namespace {

bool
slot_of(const void *p, const char *slots, uint64_t count)
{
    auto a = reinterpret_cast<uintptr_t>(p);
    auto begin = reinterpret_cast<uintptr_t>(slots);
    return a >= begin && a < begin + count * slot_size &&
           (a - begin) % slot_size == 0;
}

/* Rebuilds a free list of all count slots. */
FreeSlot *
all_free(char *slots, uint64_t count)
{
    FreeSlot *next = nullptr;
    for (uint64_t i = count; i-- > 0;) {
        auto *slot = reinterpret_cast<FreeSlot *>(slots + i * slot_size);
        slot->next = next;
        next = slot;
    }
    return next;
}

} // namespace

bool
SessionStore::is_slot(const void *p) const
{
    return slot_of(p, root_->slots, root_->slot_count);
}

bool
SessionStore::is_pending_slot(const void *p) const
{
    return slot_of(p, root_->pending_slots, root_->pending_slot_count);
}

void
SessionStore::recover()
{
    const char *damage = nullptr;
    uint32_t length = root_->journal_length;
    if (root_->rebuilding) {
        damage = "it was being emptied";
    } else if (root_->repairing >= 3) {
        damage = "three repairs of it were cut short";
    } else if (length == 0) {
        return;
    } else if (length > journal_max) {
        damage = "its journal is corrupt";
    } else {
        /* undoing again is harmless, but a repair that keeps dying (it
         * should not) is not tried forever */
        *static_cast<volatile uint32_t *>(&root_->repairing) =
            root_->repairing + 1;
        ordered();
        damage = undo();
        if (damage == nullptr) {
            damage = check();
        }
        if (damage == nullptr) {
            commit();
            recount_waiting();
            root_->stats.repaired++;
            ordered();
            *static_cast<volatile uint32_t *>(&root_->repairing) = 0;
            if (arena_.report != nullptr) {
                arena_.report(arena_.data, 0,
                              "undid the unfinished change of a process "
                              "that died holding the lock");
            }
            return;
        }
    }
    rebuild();
    if (arena_.report != nullptr) {
        char what[160];
        std::snprintf(what, sizeof(what),
                      "was damaged (%s): emptied, its sessions are lost",
                      damage);
        arena_.report(arena_.data, 1, what);
    }
}

const char *
SessionStore::undo()
{
    /* newest first: each entry holds the value before its store */
    for (uint32_t i = root_->journal_length; i-- > 0;) {
        const JournalEntry &e = root_->journal[i];
        if (!journaled(e.address, e.size)) {
            return "its journal names what changes never write";
        }
        std::memcpy(reinterpret_cast<void *>(e.address), &e.old_value, e.size);
    }
    return nullptr;
}

void
SessionStore::rebuild()
{
    /* the mark makes the next lock holder start again, should this
     * process die half-way */
    *static_cast<volatile uint32_t *>(&root_->rebuilding) = 1;
    ordered();
    root_->journal_length = 0;
    size_t index_bytes = (size_t{root_->bucket_mask} + 1) * sizeof(void *);
    std::memset(root_->by_handle, 0, index_bytes);
    std::memset(root_->by_sid, 0, index_bytes);
    std::memset(root_->by_sub, 0, index_bytes);
    root_->lru_newest = nullptr;
    root_->lru_oldest = nullptr;
    root_->free_slots = all_free(root_->slots, root_->slot_count);
    root_->free_count = root_->slot_count;
    root_->outbox_newest = nullptr;
    root_->outbox_oldest = nullptr;
    root_->pending_free =
        all_free(root_->pending_slots, root_->pending_slot_count);
    root_->pending_free_count = root_->pending_slot_count;
    root_->stats.sessions = 0;
    root_->stats.pending = 0;
    for (uint64_t i = 0; i < root_->client_counter_count; i++) {
        root_->client_counters[i].pending = 0;
    }
    root_->stats.rebuilt++;
    root_->repairing = 0;
    ordered();
    *static_cast<volatile uint32_t *>(&root_->rebuilding) = 0;
}

StoreRoot *
SessionStore::create(const ol_arena &arena, size_t zone_size)
{
    /* about two sessions a bucket when the zone is full */
    size_t buckets = round_up_pow2(zone_size / 512);
    if (buckets < 64) {
        buckets = 64;
    }
    arena.lock(arena.data);
    auto unlock = [&](StoreRoot *root) {
        arena.unlock(arena.data);
        return root; /* on failure the arena is discarded by its owner */
    };
    auto *root =
        static_cast<StoreRoot *>(arena.alloc(arena.data, sizeof(StoreRoot)));
    if (root == nullptr) {
        return unlock(nullptr);
    }
    std::memset(root, 0, sizeof(*root));
    SessionNode ***indexes[] = {&root->by_handle, &root->by_sid, &root->by_sub};
    for (SessionNode ***index : indexes) {
        *index = static_cast<SessionNode **>(
            arena.alloc(arena.data, buckets * sizeof(SessionNode *)));
        if (*index == nullptr) {
            return unlock(nullptr);
        }
    }
    /* the memos: codes in 1/128 of the zone, revoked cookies in 1/64,
     * the jtis of received logout tokens in 1/256 (a table of their own:
     * nobody else's requests can push them out), and in cluster mode the
     * sids that ended lately in 1/256 */
    struct Memo {
        MemoEntry **table;
        uint64_t *sets;
        size_t share;
    } memos[] = {{&root->codes, &root->code_sets, 128},
                 {&root->revoked, &root->revoked_sets, 64},
                 {&root->jtis, &root->jti_sets, 256},
                 {&root->ended, &root->ended_sets, 256}};
    for (const Memo &m : memos) {
        size_t sets = zone_size / m.share / (memo_ways * sizeof(MemoEntry));
        *m.sets = sets > 0 ? sets : 1;
        size_t bytes = *m.sets * memo_ways * sizeof(MemoEntry);
        *m.table = static_cast<MemoEntry *>(arena.alloc(arena.data, bytes));
        if (*m.table == nullptr) {
            return unlock(nullptr);
        }
        std::memset(*m.table, 0, bytes);
    }
    /* the client counters, and the pending area */
    size_t counters = zone_size / 1024;
    counters = counters < client_counter_max ? counters : client_counter_max;
    counters = counters > 0 ? counters : 1;
    size_t counter_bytes = counters * sizeof(ClientCounter);
    root->client_counters =
        static_cast<ClientCounter *>(arena.alloc(arena.data, counter_bytes));
    if (root->client_counters == nullptr) {
        return unlock(nullptr);
    }
    std::memset(root->client_counters, 0, counter_bytes);
    root->client_counter_count = counters;
    size_t pending = zone_size / slot_size / pending_share;
    pending = pending < pending_min ? pending_min : pending;
    root->pending_slots =
        static_cast<char *>(arena.alloc(arena.data, pending * slot_size));
    if (root->pending_slots == nullptr) {
        return unlock(nullptr);
    }
    root->pending_slot_count = pending;
    root->memo_log_size = zone_size >= (1 << 20) ? memo_log_max : 16;
    size_t log_bytes = root->memo_log_size * sizeof(MemoChange);
    root->memo_log =
        static_cast<MemoChange *>(arena.alloc(arena.data, log_bytes));
    if (root->memo_log == nullptr) {
        return unlock(nullptr);
    }
    std::memset(root->memo_log, 0, log_bytes);
    /* the slots: the largest block the arena still gives (a slab pool
     * gives whole pages; 16 slots are a page) */
    size_t count = zone_size / slot_size;
    while (count > 0 && root->slots == nullptr) {
        root->slots =
            static_cast<char *>(arena.alloc(arena.data, count * slot_size));
        if (root->slots == nullptr) {
            count = count > 16 ? count - 16 : count - 1;
        }
    }
    if (root->slots == nullptr ||
        !random_bytes(root->secret, sizeof(root->secret)) ||
        !random_bytes(root->node, sizeof(root->node))) {
        return unlock(nullptr);
    }
    root->slot_count = count;
    root->bucket_mask = static_cast<uint32_t>(buckets - 1);
    SessionStore(root, arena).rebuild();
    root->stats.rebuilt = 0;
    root->magic = store_magic;
    root->layout = store_layout;
    return unlock(root);
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
SessionStore::configure(uint32_t idle, uint32_t lifetime, bool notify)
{
    /* the master configures: it never reads the sessions, nor repairs
     * them (each of these stores is one word) */
    Locked lock(*this, false);
    root_->idle = idle;
    root_->lifetime = lifetime;
    root_->notify = notify ? 1 : 0;
    root_->cluster = 0;
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
    if (root_->cluster) {
        /* Redis decides, and the stream of ends says so (while it is
         * unreachable, only logouts end sessions) */
        return false;
    }
    return (root_->idle != 0 && now - n->last_used >= root_->idle &&
            now >= n->last_used) ||
           (root_->lifetime != 0 && now - n->created >= root_->lifetime &&
            now >= n->created);
}

void
SessionStore::link(SessionNode *n)
{
    /* n is a fresh slot: only what others point to goes through the
     * journal */
    SessionNode **b = handle_bucket(n->handle);
    n->next_by_handle = *b;
    set(*b, n);
    b = sid_bucket(n->sid);
    n->next_by_sid = *b;
    set(*b, n);
    b = sub_bucket(n->sub_hash);
    n->next_by_sub = *b;
    n->prev_by_sub = nullptr;
    if (*b != nullptr) {
        set((*b)->prev_by_sub, n);
    }
    set(*b, n);

    n->lru_newer = nullptr;
    n->lru_older = root_->lru_newest;
    set(root_->lru_newest != nullptr ? root_->lru_newest->lru_newer
                                     : root_->lru_oldest,
        n);
    set(root_->lru_newest, n);
    set(root_->stats.sessions, root_->stats.sessions + 1);
}

/* Takes node out of one hash chain. */
void
SessionStore::rechain(SessionNode **bucket, SessionNode *SessionNode::*next,
                      const SessionNode *node)
{
    for (SessionNode **p = bucket; *p != nullptr; p = &((*p)->*next)) {
        if (*p == node) {
            set(*p, node->*next);
            return;
        }
    }
}

void
SessionStore::give_slot(void *slot)
{
    auto *s = static_cast<FreeSlot *>(slot);
    bool pending = is_pending_slot(slot);
    FreeSlot *&list = pending ? root_->pending_free : root_->free_slots;
    uint64_t &count = pending ? root_->pending_free_count : root_->free_count;
    set(s->next, list);
    set(list, s);
    set(count, count + 1);
}

void
SessionStore::remove(SessionNode *n)
{
    rechain(handle_bucket(n->handle), &SessionNode::next_by_handle, n);
    rechain(sid_bucket(n->sid), &SessionNode::next_by_sid, n);
    /* a subject's sessions share a chain: unlink in constant time */
    set(n->prev_by_sub ? n->prev_by_sub->next_by_sub : *sub_bucket(n->sub_hash),
        n->next_by_sub);
    if (n->next_by_sub != nullptr) {
        set(n->next_by_sub->prev_by_sub, n->prev_by_sub);
    }
    set(n->lru_newer ? n->lru_newer->lru_older : root_->lru_newest,
        n->lru_older);
    set(n->lru_older ? n->lru_older->lru_newer : root_->lru_oldest,
        n->lru_newer);
    set(root_->stats.sessions, root_->stats.sessions - 1);

    OverflowSlot *o = n->overflow;
    give_slot(n);
    while (o != nullptr) {
        OverflowSlot *next = o->next;
        give_slot(o);
        o = next;
    }
}

void
SessionStore::touch(SessionNode *n, uint32_t now)
{
    if (n->last_used != now) {
        set(n->last_used, now);
    }
    if (root_->lru_newest == n) {
        return; /* a busy session: nothing written most of the time */
    }
    /* move to the newest end */
    set(n->lru_newer->lru_older, n->lru_older);
    set(n->lru_older ? n->lru_older->lru_newer : root_->lru_oldest,
        n->lru_newer);
    set(n->lru_older, root_->lru_newest);
    set(n->lru_newer, static_cast<SessionNode *>(nullptr));
    set(root_->lru_newest->lru_newer, n);
    set(root_->lru_newest, n);
}

void
SessionStore::mark_changed(SessionNode *n)
{
    if (root_->cluster) {
        /* live sessions do not use due otherwise.  A number no write in
         * flight carries: the reply to a write of the session before this
         * change (written()) does not pass for this one's */
        uint32_t number = root_->changes + 1 != 0 ? root_->changes + 1 : 1;
        set(root_->changes, number);
        set(n->due, number);
    }
}

bool
SessionStore::drop_if_expired(SessionNode *n, uint32_t now)
{
    if (!expired(n, now)) {
        return false;
    }
    bool idle = root_->idle != 0 && now - n->last_used >= root_->idle &&
                now >= n->last_used;
    retire(n, idle ? OL_END_IDLE : OL_END_LIFETIME, now);
    /* every caller looks for expired sessions before changing anything:
     * the removal is a step of its own */
    commit();
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

FreeSlot *
SessionStore::take_slots(size_t count, const SessionNode *keep, uint32_t now)
{
    if (count + (keep != nullptr ? keep->slots : 0) > root_->slot_count) {
        /* would not fit an empty store: force nobody out for it */
        set(root_->stats.alloc_failures, root_->stats.alloc_failures + 1);
        return nullptr;
    }
    if (root_->free_count < count) {
        /* expired sessions go first ... */
        SessionNode *n = root_->lru_oldest;
        for (int i = 0;
             i < expire_scan && n != nullptr && root_->free_count < count;
             i++) {
            SessionNode *newer = n->lru_newer;
            if (n != keep) {
                drop_if_expired(n, now);
            }
            n = newer;
        }
    }
    /* ... then strictly the least recently used, each a step of its own
     * (keep, being used, is the newest) */
    while (root_->free_count < count) {
        SessionNode *victim = root_->lru_oldest;
        if (victim == keep) {
            victim = victim->lru_newer;
        }
        if (victim == nullptr) {
            set(root_->stats.alloc_failures, root_->stats.alloc_failures + 1);
            return nullptr;
        }
        if (root_->cluster) {
            /* out of this node's cache only: it lives on in Redis */
            count_end(OL_END_EVICTED);
            remove(victim);
        } else {
            retire(victim, OL_END_EVICTED, now);
        }
        commit();
    }
    return take_free(root_->free_slots, root_->free_count, count);
}

FreeSlot *
SessionStore::take_free(FreeSlot *&list, uint64_t &free_count, size_t count)
{
    /* the caller overwrites the slots' links: their old values are kept */
    FreeSlot *first = list;
    FreeSlot *last = first;
    record(&last->next, sizeof(last->next));
    for (size_t i = 1; i < count; i++) {
        last = last->next;
        record(&last->next, sizeof(last->next));
    }
    set(list, last->next);
    set(free_count, free_count - count);
    last->next = nullptr;
    return first;
}

size_t
SessionStore::read_data(const SessionNode *n, char *out)
{
    size_t len = n->data_len;
    size_t part = len < head_data ? len : head_data;
    std::memcpy(out, n->data, part);
    size_t done = part;
    for (const OverflowSlot *o = n->overflow; done < len && o != nullptr;
         o = o->next) {
        part = len - done < overflow_data ? len - done : overflow_data;
        std::memcpy(out + done, o->data, part);
        done += part;
    }
    return done;
}

void
SessionStore::write_data(SessionNode *n, size_t offset, const char *in,
                         size_t len)
{
    /* beyond data_len: no reader sees these bytes until data_len grows */
    char *area = n->data;
    size_t area_len = head_data;
    OverflowSlot *o = n->overflow;
    while (len > 0) {
        if (offset >= area_len) {
            offset -= area_len;
            area = o->data;
            area_len = overflow_data;
            o = o->next;
            continue;
        }
        size_t part = area_len - offset < len ? area_len - offset : len;
        std::memcpy(area + offset, in, part);
        in += part;
        len -= part;
        offset += part;
    }
}

bool
SessionStore::sub_is(const SessionNode *n, std::string_view sub)
{
    if (n->sub_len != sub.size()) {
        return false;
    }
    char data[OL_SESSION_DATA_MAX];
    read_data(n, data);
    return std::memcmp(data, sub.data(), sub.size()) == 0;
}

void
SessionStore::copy_info(const SessionNode *n, ol_session_info *info) const
{
    if (info == nullptr) {
        return;
    }
    /* raw bytes under the lock; finish_info() encodes them after */
    char data[OL_SESSION_DATA_MAX];
    read_data(n, data);
    std::memcpy(info->sid, n->sid, id_bytes);
    std::memcpy(info->sub, data, n->sub_len);
    info->sub[n->sub_len] = '\0';
    info->sub_len = n->sub_len;
    info->created = n->created;
    info->last_used = n->last_used;
    info->client_count = n->client_count;
    /* length-prefixed ids become NUL-terminated ones of the same size */
    char *out = info->clients;
    char *psid = info->provider_sids;
    const char *p = data + n->sub_len;
    for (unsigned i = 0; i < n->client_count; i++) {
        for (char **to : {&out, &psid}) {
            uint8_t len = static_cast<uint8_t>(*p++);
            std::memcpy(*to, p, len);
            (*to)[len] = '\0';
            *to += len + 1;
            p += len;
        }
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
    return open(handle_text, sub, now, out);
}

ol_status
SessionStore::open(std::string_view handle_text, std::string_view sub,
                   uint32_t now, ol_login_result &out)
{
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

    {
        Locked lock(*this);
        uint64_t evicted_before = root_->stats.ends[OL_END_EVICTED];
        SessionNode *n = has_old ? find_handle(old_handle, now) : nullptr;
        if (n != nullptr && sub_is(n, sub)) {
            /* the same subject keeps its session under a fresh handle */
            rechain(handle_bucket(n->handle), &SessionNode::next_by_handle, n);
            set_bytes(n->handle, ids, id_bytes);
            SessionNode **b = handle_bucket(n->handle);
            set(n->next_by_handle, *b);
            set(*b, n);
            touch(n, now);
            mark_changed(n);
            std::memcpy(sid, n->sid, id_bytes);
        } else {
            if (n != nullptr) {
                retire(n, OL_END_REPLACED, now);
                commit();
                out.previous_ended = 1;
            }
            n = put(nullptr, ids, sid, sub, sub.size(), 0, now, now);
            if (n != nullptr) {
                mark_changed(n);
            }
            out.evicted = static_cast<unsigned>(
                root_->stats.ends[OL_END_EVICTED] - evicted_before);
            if (n == nullptr) {
                return OL_NOMEM;
            }
            set(root_->stats.created, root_->stats.created + 1);
            out.created = 1;
        }
    }
    std::string sid_text = base64url_encode(sid, id_bytes);
    std::memcpy(out.handle, handle.data(), id_text_length + 1);
    std::memcpy(out.sid, sid_text.data(), id_text_length + 1);
    return OL_OK;
}

SessionNode *
SessionStore::put(SessionNode *old, const uint8_t *handle, const uint8_t *sid,
                  std::string_view data, size_t sub_len, unsigned clients,
                  uint32_t created, uint32_t now)
{
    size_t need = slots_for(data.size());
    FreeSlot *slot = take_slots(need, old, now);
    if (slot == nullptr) {
        return nullptr;
    }
    /* fresh slots: nobody sees them before link() */
    auto *n = reinterpret_cast<SessionNode *>(slot);
    auto *overflow = reinterpret_cast<OverflowSlot *>(slot->next);
    std::memset(n, 0, offsetof(SessionNode, data));
    n->overflow = overflow;
    n->slots = static_cast<uint8_t>(need);
    std::memcpy(n->handle, handle, id_bytes);
    std::memcpy(n->sid, sid, id_bytes);
    n->created = created;
    n->last_used = now;
    n->sub_hash = text_hash(data.substr(0, sub_len));
    n->sub_len = static_cast<uint8_t>(sub_len);
    n->client_count = static_cast<uint8_t>(clients);
    write_data(n, 0, data.data(), data.size());
    n->data_len = static_cast<uint16_t>(data.size());
    if (old != nullptr) {
        if (std::memcmp(old->sid, sid, id_bytes) == 0) {
            /* the same session: a change not yet written stays to write,
             * and Redis holds the same deadline */
            n->due = old->due;
            n->lease = old->lease;
        }
        remove(old);
    }
    link(n);
    return n;
}

ol_status
SessionStore::start(uint32_t now, ol_login_result &out)
{
    return open(std::string_view(), std::string_view(), now, out);
}

ol_status
SessionStore::learn(std::string_view id_text, bool by_sid,
                    std::string_view client, std::string_view psid,
                    std::string_view sub, uint32_t now, ol_session_info *info,
                    ol_session_info *ended, unsigned &evicted,
                    std::string *rekeyed)
{
    evicted = 0;
    uint8_t id[id_bytes];
    if (!decode_id(id_text, id)) {
        return OL_DENIED;
    }
    if (client.empty() || client.size() > OL_CLIENT_ID_MAX ||
        psid.size() > UINT8_MAX || sub.size() > OL_SUB_MAX || !is_utf8(sub)) {
        return OL_INVALID;
    }
    /* a fresh sid (another subject), and a fresh handle */
    uint8_t ids[2 * id_bytes];
    if (!random_bytes(ids, sizeof(ids))) {
        return OL_INTERNAL;
    }
    const uint8_t *fresh_sid = ids;
    const uint8_t *fresh_handle = ids + id_bytes;
    bool other_subject = false;
    {
        Locked lock(*this);
        SessionNode *n = by_sid ? find_sid(id, now) : find_handle(id, now);
        if (n == nullptr) {
            return OL_DENIED;
        }
        char data[OL_SESSION_DATA_MAX];
        read_data(n, data);
        std::string_view old_sub(data, n->sub_len);
        /* the new data: at most the old, one entry and a subject more */
        char out[2 * OL_SESSION_DATA_MAX];
        size_t len = 0;
        unsigned count = 0;
        bool same = true;
        auto append = [&](std::string_view c, std::string_view p) {
            len += put_entry(out + len, c, p);
            count++;
        };
        if (!sub.empty() && !old_sub.empty() && sub != old_sub) {
            other_subject = true;
            same = false;
        } else if (old_sub.empty() && !sub.empty()) {
            same = false;
        }
        std::string_view new_sub = sub.empty() ? old_sub : sub;
        std::memcpy(out, new_sub.data(), new_sub.size());
        len = new_sub.size();
        bool found = false;
        if (!other_subject) {
            each_entry(
                data, n->sub_len, n->client_count,
                [&](const char *, std::string_view c, std::string_view p) {
                    if (c == client) {
                        found = true;
                        if (!psid.empty() && psid != p) {
                            same = false;
                            p = psid;
                        }
                    }
                    if (len + 2 + c.size() + p.size() <= sizeof(out)) {
                        append(c, p);
                    }
                });
        }
        if (!found) {
            same = false;
            append(client, psid);
        }
        if (same && rekeyed == nullptr) {
            touch(n, now);
            copy_info(n, info);
        } else {
            if (len > OL_SESSION_DATA_MAX || count > UINT8_MAX) {
                touch(n, now);
                return OL_INVALID;
            }
            /* the ended session's clients wait in the outbox from the
             * step that replaces it */
            SessionNode *told = nullptr;
            uint64_t told_ref = 0;
            if (other_subject) {
                copy_info(n, ended);
                told = tell(n, OL_END_REPLACED, now);
                told_ref = told != nullptr ? ref_of(told) : 0;
            }
            uint64_t evicted_before = root_->stats.ends[OL_END_EVICTED];
            SessionNode *fresh = put(
                n, rekeyed != nullptr ? fresh_handle : n->handle,
                other_subject ? fresh_sid : n->sid, std::string_view(out, len),
                new_sub.size(), count, other_subject ? now : n->created, now);
            evicted = static_cast<unsigned>(root_->stats.ends[OL_END_EVICTED] -
                                            evicted_before);
            if (fresh == nullptr) {
                /* n lives on: its clients are told nothing (unless the
                 * evictions made for room dropped the copy already) */
                told = told_ref != 0 ? pending_at(told_ref, n->sid) : nullptr;
                if (told != nullptr) {
                    unqueue(told);
                }
                return OL_NOMEM;
            }
            mark_changed(fresh);
            if (!found) {
                set(root_->stats.joins, root_->stats.joins + 1);
            }
            if (other_subject) {
                set(root_->stats.created, root_->stats.created + 1);
            }
            copy_info(fresh, info);
        }
    }
    finish_info(info);
    if (other_subject) {
        finish_info(ended);
    }
    if (rekeyed != nullptr) {
        *rekeyed = base64url_encode(fresh_handle, id_bytes);
    }
    return OL_OK;
}

void
SessionStore::memo_key(std::string_view label, std::string_view value,
                       uint8_t *key) const
{
    /* the secret is written once, before any worker starts: no lock */
    std::string message(label);
    message.push_back('\0');
    message.append(value);
    uint8_t mac[EVP_MAX_MD_SIZE] = {};
    unsigned int len = 0;
    HMAC(EVP_sha256(), root_->secret, sizeof(root_->secret),
         reinterpret_cast<const unsigned char *>(message.data()),
         message.size(), mac, &len);
    std::memcpy(key, mac, sizeof(MemoEntry::key));
    key[0] |= 1; /* never the free mark */
}

MemoEntry *
SessionStore::memo_find(MemoEntry *table, uint64_t sets, const uint8_t *key,
                        uint32_t now)
{
    MemoEntry *set_of = table + id_hash(key) % sets * memo_ways;
    for (size_t i = 0; i < memo_ways; i++) {
        MemoEntry &e = set_of[i];
        if (CRYPTO_memcmp(e.key, key, sizeof(e.key)) == 0 && e.expires > now) {
            return &e;
        }
    }
    return nullptr;
}

void
SessionStore::memo_put(MemoEntry *table, uint64_t sets, const MemoEntry &entry,
                       uint32_t now)
{
    MemoEntry *set_of = table + id_hash(entry.key) % sets * memo_ways;
    MemoEntry *to = &set_of[0];
    for (size_t i = 0; i < memo_ways; i++) {
        MemoEntry &e = set_of[i];
        if (CRYPTO_memcmp(e.key, entry.key, sizeof(e.key)) == 0 ||
            e.expires <= now) {
            to = &e;
            break;
        }
        if (e.expires < to->expires) {
            to = &e;
        }
    }
    set_bytes(to->key, entry.key, sizeof(to->key));
    set_bytes(to->sid, entry.sid, sizeof(to->sid));
    set(to->expires, entry.expires);
    set(to->client_hash, entry.client_hash);
    memo_log(table, entry);
}

void
SessionStore::remember_code(std::string_view code, std::string_view sid_text,
                            std::string_view client, uint32_t expires)
{
    MemoEntry e = {};
    if (!decode_id(sid_text, e.sid)) {
        return;
    }
    memo_key("code", code, e.key);
    e.expires = expires;
    e.client_hash = text_hash(client);
    Locked lock(*this);
    memo_put(root_->codes, root_->code_sets, e, 0);
}

bool
SessionStore::take_code(std::string_view code, std::string_view client,
                        uint32_t now, std::string &sid_text)
{
    uint8_t key[sizeof(MemoEntry::key)];
    memo_key("code", code, key);
    uint8_t sid[id_bytes];
    uint32_t client_hash;
    {
        Locked lock(*this);
        MemoEntry *e = memo_find(root_->codes, root_->code_sets, key, now);
        if (e == nullptr) {
            return false;
        }
        std::memcpy(sid, e->sid, id_bytes);
        client_hash = e->client_hash;
        set(e->expires, uint32_t{0}); /* one use */
        MemoEntry taken = *e;
        memo_log(root_->codes, taken);
    }
    if (client_hash != text_hash(client)) {
        return false;
    }
    sid_text = base64url_encode(sid, id_bytes);
    return true;
}

void
SessionStore::revoke(std::string_view value, uint32_t expires)
{
    MemoEntry e = {};
    memo_key("cookie", value, e.key);
    e.expires = expires;
    Locked lock(*this);
    memo_put(root_->revoked, root_->revoked_sets, e, 0);
}

bool
SessionStore::revoked(std::string_view value, uint32_t now)
{
    uint8_t key[sizeof(MemoEntry::key)];
    memo_key("cookie", value, key);
    Locked lock(*this);
    return memo_find(root_->revoked, root_->revoked_sets, key, now) != nullptr;
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
    Locked lock(*this);
    SessionNode *n = find_handle(handle, now);
    if (n == nullptr) {
        return OL_DENIED;
    }

    char data[OL_SESSION_DATA_MAX];
    read_data(n, data);
    bool known = false;
    each_entry(data, n->sub_len, n->client_count,
               [&](const char *, std::string_view id, std::string_view) {
                   known = known || id == client;
               });
    if (known) {
        touch(n, now);
        copy_info(n, info);
        return OL_OK;
    }
    size_t data_len = n->data_len + 2 + client.size();
    if (data_len > OL_SESSION_DATA_MAX || n->client_count == UINT8_MAX) {
        touch(n, now);
        return OL_INVALID;
    }
    size_t need = slots_for(data_len);
    FreeSlot *more = nullptr;
    if (need > n->slots) {
        /* before the join changes anything: the evictions are steps of
         * their own, and the join one step after them */
        uint64_t evicted_before = root_->stats.ends[OL_END_EVICTED];
        more = take_slots(need - n->slots, n, now);
        evicted = static_cast<unsigned>(root_->stats.ends[OL_END_EVICTED] -
                                        evicted_before);
        if (more == nullptr) {
            touch(n, now);
            return OL_NOMEM;
        }
    }
    touch(n, now);
    if (more != nullptr) {
        OverflowSlot **tail = &n->overflow;
        while (*tail != nullptr) {
            tail = &(*tail)->next;
        }
        set(*tail, reinterpret_cast<OverflowSlot *>(more));
        set(n->slots, static_cast<uint8_t>(need));
    }
    char entry[2 + OL_CLIENT_ID_MAX];
    size_t entry_len = put_entry(entry, client, std::string_view());
    write_data(n, n->data_len, entry, entry_len);
    set(n->data_len, static_cast<uint16_t>(data_len));
    set(n->client_count, static_cast<uint8_t>(n->client_count + 1));
    set(root_->stats.joins, root_->stats.joins + 1);
    mark_changed(n);
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
        Locked lock(*this);
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
        Locked lock(*this);
        SessionNode *n = *sub_bucket(hash);
        while (n != nullptr && count < max) {
            SessionNode *next = n->next_by_sub;
            if (n->sub_hash == hash && sub_is(n, sub) &&
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
                  ol_session_info *info, ol_end_cause cause, Claim *claimed,
                  uint32_t lease)
{
    if (claimed != nullptr) {
        *claimed = Claim();
    }
    return with_session(handle_text, &SessionStore::find_handle, now, info,
                        [&](SessionNode *n) {
                            SessionNode *p = retire(n, cause, now);
                            if (p != nullptr && claimed != nullptr &&
                                p->client_count > 0) {
                                set(p->lease, now + lease);
                                claimed->ref = ref_of(p);
                                claimed->until = p->lease;
                            }
                        });
}

ol_status
SessionStore::end_by_sid(std::string_view sid_text, ol_end_cause cause,
                         uint32_t now, ol_session_info *info)
{
    return with_session(sid_text, &SessionStore::find_sid, now, info,
                        [&](SessionNode *n) { retire(n, cause, now); });
}

namespace {

/* Whether one of the client entries of data holds psid. */
bool
holds_provider_sid(const char *data, size_t sub_len, unsigned count,
                   std::string_view psid)
{
    bool found = false;
    each_entry(data, sub_len, count,
               [&](const char *, std::string_view, std::string_view p) {
                   found = found || p == psid;
               });
    return found;
}

} // namespace

bool
SessionStore::end_holding(SessionNode *n, std::string_view psid,
                          ol_end_cause cause, uint32_t now)
{
    if (drop_if_expired(n, now)) {
        return false;
    }
    if (!psid.empty()) {
        char data[OL_SESSION_DATA_MAX];
        read_data(n, data);
        if (!holds_provider_sid(data, n->sub_len, n->client_count, psid)) {
            return false;
        }
    }
    retire(n, cause, now);
    commit();
    return true;
}

size_t
SessionStore::end_by_sub(std::string_view sub, std::string_view psid,
                         ol_end_cause cause, uint32_t now)
{
    uint32_t hash = text_hash(sub);
    size_t count = 0;
    Locked lock(*this);
    SessionNode *n = *sub_bucket(hash);
    while (n != nullptr) {
        SessionNode *next = n->next_by_sub;
        if (n->sub_hash == hash && sub_is(n, sub) &&
            end_holding(n, psid, cause, now)) {
            count++;
        }
        n = next;
    }
    return count;
}

size_t
SessionStore::end_by_provider_sid(std::string_view psid, ol_end_cause cause,
                                  uint32_t now)
{
    size_t count = 0;
    if (psid.empty()) {
        return 0;
    }
    Locked lock(*this);
    SessionNode *n = root_->lru_oldest;
    while (n != nullptr) {
        SessionNode *newer = n->lru_newer;
        count += end_holding(n, psid, cause, now) ? 1 : 0;
        n = newer;
    }
    return count;
}

unsigned
SessionStore::sweep(uint32_t now, unsigned buckets)
{
    unsigned found = 0;
    Locked lock(*this);
    if ((root_->idle == 0 && root_->lifetime == 0) || root_->cluster) {
        return 0;
    }
    /* the least recently used first: idle ones are there */
    for (int i = 0; i < sweep_scan && root_->lru_oldest != nullptr &&
                    drop_if_expired(root_->lru_oldest, now);
         i++) {
        found++;
    }
    /* then a few buckets, round the index: sessions past their lifetime
     * can be anywhere in the LRU list */
    uint64_t b = root_->sweep_cursor & root_->bucket_mask;
    for (unsigned i = 0; i < buckets && i <= root_->bucket_mask; i++) {
        SessionNode *n = root_->by_sid[b];
        while (n != nullptr) {
            SessionNode *next = n->next_by_sid;
            found += drop_if_expired(n, now) ? 1 : 0;
            n = next;
        }
        b = (b + 1) & root_->bucket_mask;
    }
    set(root_->sweep_cursor, b);
    return found;
}

void
SessionStore::count_end(ol_end_cause cause)
{
    set(root_->stats.ends[cause], root_->stats.ends[cause] + 1);
}

SessionNode *
SessionStore::tell(const SessionNode *n, ol_end_cause cause, uint32_t now)
{
    count_end(cause);
    if (root_->cluster) {
        /* waits, even without clients, until Redis hears of it: then
         * this node notifies, or the one that ended it first */
        char data[OL_SESSION_DATA_MAX];
        size_t len = read_data(n, data);
        SessionNode *p = pending_put(n, std::string_view(data, len),
                                     n->client_count, nullptr, nullptr);
        /* a record of it read from Redis before it hears may not bring
         * it back, and its cookie is refused without asking Redis */
        remember_ended(n, now);
        if (p != nullptr) {
            set(p->cause, static_cast<uint8_t>(cause | cause_unpublished));
            set(p->last_used, now);
            set(p->due, now + publish_hold);
            set(p->lease, uint32_t{0});
        }
        return p;
    }
    bool quiet = cause == OL_END_IDLE || cause == OL_END_LIFETIME ||
                 cause == OL_END_EVICTED;
    if (n->client_count == 0 || (quiet && !root_->notify)) {
        return nullptr;
    }
    char data[OL_SESSION_DATA_MAX];
    size_t len = read_data(n, data);
    SessionNode *p = pending_put(n, std::string_view(data, len),
                                 n->client_count, nullptr, nullptr);
    if (p != nullptr) {
        set(p->cause, static_cast<uint8_t>(cause));
        set(p->last_used, now);
        set(p->due, now);
    }
    return p;
}

SessionNode *
SessionStore::retire(SessionNode *n, ol_end_cause cause, uint32_t now)
{
    SessionNode *p = tell(n, cause, now);
    remove(n);
    return p;
}

/* ---- the outbox --------------------------------------------------------- */

uint64_t
SessionStore::ref_of(const SessionNode *p) const
{
    return static_cast<uint64_t>(reinterpret_cast<const char *>(p) -
                                 root_->pending_slots) /
               slot_size +
           1;
}

SessionNode *
SessionStore::pending_at(uint64_t ref, const uint8_t *sid) const
{
    if (ref == 0 || ref > root_->pending_slot_count) {
        return nullptr;
    }
    auto *p = reinterpret_cast<SessionNode *>(root_->pending_slots +
                                              (ref - 1) * slot_size);
    /* a pending session taken out has its sid spoilt (unqueue) */
    return CRYPTO_memcmp(p->sid, sid, id_bytes) == 0 ? p : nullptr;
}

SessionNode *
SessionStore::pending_put(const SessionNode *from, std::string_view data,
                          unsigned clients, const SessionNode *keep,
                          SessionNode *after)
{
    size_t need = slots_for(data.size());
    if (need + (keep != nullptr ? keep->slots : 0) >
        root_->pending_slot_count) {
        return nullptr;
    }
    /* a full area drops its oldest */
    while (root_->pending_free_count < need) {
        SessionNode *old = root_->outbox_oldest;
        if (old == keep) {
            old = old->lru_newer;
        }
        if (old == nullptr) {
            return nullptr;
        }
        drop(old, OL_SENT_DROPPED);
        commit();
    }
    FreeSlot *slot =
        take_free(root_->pending_free, root_->pending_free_count, need);
    /* fresh slots: nobody sees them before they are linked */
    auto *p = reinterpret_cast<SessionNode *>(slot);
    auto *overflow = reinterpret_cast<OverflowSlot *>(slot->next);
    std::memset(p, 0, offsetof(SessionNode, data));
    p->overflow = overflow;
    p->slots = static_cast<uint8_t>(need);
    std::memcpy(p->sid, from->sid, id_bytes);
    p->created = from->created;
    p->last_used = from->last_used;
    p->sub_hash = from->sub_hash;
    p->due = from->due;
    p->lease = from->lease;
    p->attempts = from->attempts;
    p->sub_len = from->sub_len;
    p->client_count = static_cast<uint8_t>(clients);
    p->cause = from->cause;
    write_data(p, 0, data.data(), data.size());
    p->data_len = static_cast<uint16_t>(data.size());
    /* linked just newer than after, or at the newest end */
    SessionNode *older = after != nullptr ? after : root_->outbox_newest;
    SessionNode *newer =
        older != nullptr ? older->lru_newer : root_->outbox_oldest;
    p->lru_older = older;
    p->lru_newer = newer;
    set(newer != nullptr ? newer->lru_older : root_->outbox_newest, p);
    set(older != nullptr ? older->lru_newer : root_->outbox_oldest, p);
    set(root_->stats.pending, root_->stats.pending + clients);
    count_waiting(p, true);
    return p;
}

void
SessionStore::unqueue(SessionNode *p)
{
    set(p->lru_newer != nullptr ? p->lru_newer->lru_older
                                : root_->outbox_newest,
        p->lru_older);
    set(p->lru_older != nullptr ? p->lru_older->lru_newer
                                : root_->outbox_oldest,
        p->lru_newer);
    set(root_->stats.pending, root_->stats.pending - p->client_count);
    count_waiting(p, false);
    const uint8_t spoilt[sizeof(uint64_t)] = {};
    set_bytes(p->sid, spoilt, sizeof(spoilt));
    OverflowSlot *o = p->overflow;
    give_slot(p);
    while (o != nullptr) {
        OverflowSlot *next = o->next;
        give_slot(o);
        o = next;
    }
}

void
SessionStore::recount_waiting()
{
    for (uint64_t i = 0; i < root_->client_counter_count; i++) {
        __atomic_store_n(&root_->client_counters[i].pending, 0,
                         __ATOMIC_RELAXED);
    }
    uint64_t i = 0;
    for (const SessionNode *p = root_->outbox_oldest;
         p != nullptr && i < root_->pending_slot_count; p = p->lru_newer, i++) {
        count_waiting(p, true);
    }
}

void
SessionStore::count_waiting(const SessionNode *p, bool up)
{
    char data[OL_SESSION_DATA_MAX];
    read_data(p, data);
    each_entry(data, p->sub_len, p->client_count,
               [&](const char *, std::string_view client, std::string_view) {
                   /* a gauge, outside the journal (a session of many
                    * clients would overflow it): counted again from the
                    * outbox when a step is undone (recount_waiting); a
                    * client without an entry is not counted */
                   ClientCounter *c = client_counter(client);
                   if (c == nullptr) {
                       return;
                   }
                   uint64_t was =
                       __atomic_load_n(&c->pending, __ATOMIC_RELAXED);
                   while ((up || was > 0) &&
                          !__atomic_compare_exchange_n(
                              &c->pending, &was, up ? was + 1 : was - 1, false,
                              __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                   }
               });
}

void
SessionStore::drop(SessionNode *p, ol_sent_outcome why)
{
    char data[OL_SESSION_DATA_MAX];
    read_data(p, data);
    each_entry(data, p->sub_len, p->client_count,
               [&](const char *, std::string_view client, std::string_view) {
                   count_sent(client, why);
               });
    bool given_up = why == OL_SENT_GIVEN_UP;
    uint64_t &counter =
        given_up ? root_->stats.pending_given_up : root_->stats.pending_dropped;
    set(counter, counter + p->client_count);
    if (arena_.report != nullptr) {
        char what[200];
        std::snprintf(what, sizeof(what),
                      "%s the logout tokens of session %s for %u client(s): "
                      "%s",
                      given_up ? "gave up" : "dropped",
                      base64url_encode(p->sid, id_bytes).c_str(),
                      static_cast<unsigned>(p->client_count),
                      given_up ? "oidc_logout_backchannel_give_up reached"
                               : "the zone's pending area is full, the oldest "
                                 "go first");
        arena_.report(arena_.data, 0, what);
    }
    unqueue(p);
}

void
SessionStore::claim(uint32_t now, uint32_t lease, uint32_t give_up, size_t max,
                    std::vector<Pending> &out)
{
    size_t first = out.size();
    out.reserve(first + max); /* nothing is allocated under the lock */
    {
        Locked lock(*this);
        SessionNode *p = root_->outbox_oldest;
        for (size_t i = 0; p != nullptr && i < root_->pending_slot_count &&
                           out.size() - first < max;
             i++) {
            SessionNode *newer = p->lru_newer;
            bool held = p->lease > now;
            if (p->client_count == 0) {
                /* an end Redis has not heard of yet, nobody to tell */
            } else if (!held && give_up != 0 && now - p->last_used >= give_up &&
                       now >= p->last_used) {
                drop(p, OL_SENT_GIVEN_UP);
                commit();
            } else if (!held && p->due <= now) {
                set(p->lease, now + lease);
                out.emplace_back();
                Pending &e = out.back();
                e.claim.ref = ref_of(p);
                e.claim.until = p->lease;
                copy_info(p, &e.info);
                e.cause = static_cast<ol_end_cause>(p->cause & ~cause_flags);
                e.ended = p->last_used;
                e.attempts = p->attempts;
            }
            p = newer;
        }
    }
    for (size_t i = first; i < out.size(); i++) {
        finish_info(&out[i].info);
    }
}

void
SessionStore::settle(Claim &claim, std::string_view sid_text,
                     const std::vector<std::string> &done, uint32_t retry_at,
                     bool round_over)
{
    uint8_t sid[id_bytes];
    if (!decode_id(sid_text, sid)) {
        return;
    }
    Locked lock(*this);
    SessionNode *p = pending_at(claim.ref, sid);
    if (p == nullptr) {
        return; /* given up or dropped meanwhile */
    }
    if (claim.until != 0 && p->lease != claim.until) {
        /* another worker took it since (the claim ran out): its round,
         * which delivers to every client still waiting, settles it */
        return;
    }
    if (!done.empty() && (p->cause & cause_told) == 0) {
        set(p->cause, static_cast<uint8_t>(p->cause | cause_told));
    }
    char data[OL_SESSION_DATA_MAX];
    read_data(p, data);
    char rest[OL_SESSION_DATA_MAX];
    std::memcpy(rest, data, p->sub_len);
    size_t len = p->sub_len;
    unsigned count = 0;
    each_entry(data, p->sub_len, p->client_count,
               [&](const char *, std::string_view c, std::string_view psid) {
                   for (const std::string &d : done) {
                       if (d == c) {
                           return;
                       }
                   }
                   len += put_entry(rest + len, c, psid);
                   count++;
               });
    if (count == 0) {
        if ((p->cause & cause_unpublished) != 0) {
            /* kept, without clients, until Redis hears of the end */
            SessionNode *q =
                pending_put(p, std::string_view(rest, len), 0, p, p);
            if (q == nullptr) {
                return;
            }
        }
        unqueue(p);
        claim.ref = 0;
        return;
    }
    if (count < p->client_count) {
        /* the clients still waiting, in its place, held as it was */
        SessionNode *q =
            pending_put(p, std::string_view(rest, len), count, p, p);
        if (q != nullptr) {
            unqueue(p);
            p = q;
            claim.ref = ref_of(p);
        }
    }
    if (!round_over) {
        return;
    }
    set(p->attempts, static_cast<uint16_t>(p->attempts + 1));
    set(p->due, retry_at);
    set(p->lease, uint32_t{0});
}

std::vector<SessionStore::PendingClient>
SessionStore::pending_clients()
{
    std::vector<PendingClient> out;
    Locked lock(*this);
    size_t i = 0;
    for (const SessionNode *p = root_->outbox_oldest;
         p != nullptr && i < root_->pending_slot_count; p = p->lru_newer, i++) {
        char data[OL_SESSION_DATA_MAX];
        read_data(p, data);
        each_entry(
            data, p->sub_len, p->client_count,
            [&](const char *, std::string_view client, std::string_view) {
                PendingClient *c = nullptr;
                for (PendingClient &one : out) {
                    c = one.client == client ? &one : c;
                }
                if (c == nullptr) {
                    out.emplace_back();
                    c = &out.back();
                    c->client.assign(client);
                    c->oldest = p->last_used;
                    c->next_due = p->due;
                }
                c->count++;
                c->oldest = p->last_used < c->oldest ? p->last_used : c->oldest;
                c->next_due = p->due < c->next_due ? p->due : c->next_due;
            });
    }
    return out;
}

bool
SessionStore::remember_once(std::string_view label, std::string_view value,
                            uint32_t expires, uint32_t now)
{
    MemoEntry e = {};
    memo_key(label, value, e.key);
    e.expires = expires;
    Locked lock(*this);
    if (memo_find(root_->jtis, root_->jti_sets, e.key, now) != nullptr) {
        return false;
    }
    memo_put(root_->jtis, root_->jti_sets, e, now);
    return true;
}

/* ---- counters ----------------------------------------------------------- */

ClientCounter *
SessionStore::client_counter(std::string_view client, bool add) const
{
    uint32_t hash = text_hash(client) | 1; /* 0 marks a free entry */
    uint64_t n = root_->client_counter_count;
    for (uint64_t i = 0; i < n; i++) {
        ClientCounter &c = root_->client_counters[(hash + i) % n];
        uint32_t seen = __atomic_load_n(&c.hash, __ATOMIC_ACQUIRE);
        if (seen == 0 && add) {
            __atomic_compare_exchange_n(&c.hash, &seen, hash, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
            seen = seen == 0 ? hash : seen;
        }
        if (seen == hash) {
            return &c;
        }
        if (seen == 0) {
            return nullptr;
        }
    }
    return nullptr; /* more clients than entries: not counted */
}

void
SessionStore::count_sent(std::string_view client, ol_sent_outcome outcome)
{
    ClientCounter *c = client_counter(client);
    if (c != nullptr) {
        __atomic_fetch_add(&c->sent[outcome], 1, __ATOMIC_RELAXED);
    }
}

void
SessionStore::client_sent(std::string_view client, uint64_t *sent,
                          uint64_t *pending) const
{
    ClientCounter *c = client_counter(client, false);
    for (size_t i = 0; i < OL_SENT_OUTCOMES; i++) {
        sent[i] =
            c != nullptr ? __atomic_load_n(&c->sent[i], __ATOMIC_RELAXED) : 0;
    }
    /* a word written under the lock, read without it */
    *pending =
        c != nullptr ? __atomic_load_n(&c->pending, __ATOMIC_RELAXED) : 0;
}

void
SessionStore::count_logout(int mode_index, ol_logout_outcome outcome)
{
    __atomic_fetch_add(&root_->logouts[mode_index & 1][outcome], 1,
                       __ATOMIC_RELAXED);
}

void
SessionStore::count_hint(ol_hint_result result)
{
    __atomic_fetch_add(&root_->hints[result], 1, __ATOMIC_RELAXED);
}

void
SessionStore::count_upstream(ol_upstream_result result)
{
    __atomic_fetch_add(&root_->upstream[result], 1, __ATOMIC_RELAXED);
}

void
SessionStore::counters(uint64_t (&logouts)[2][OL_LOGOUT_OUTCOMES],
                       uint64_t (&hints)[OL_HINT_RESULTS],
                       uint64_t (&upstream)[OL_UPSTREAM_RESULTS]) const
{
    for (size_t m = 0; m < 2; m++) {
        for (size_t o = 0; o < OL_LOGOUT_OUTCOMES; o++) {
            logouts[m][o] =
                __atomic_load_n(&root_->logouts[m][o], __ATOMIC_RELAXED);
        }
    }
    for (size_t i = 0; i < OL_HINT_RESULTS; i++) {
        hints[i] = __atomic_load_n(&root_->hints[i], __ATOMIC_RELAXED);
    }
    for (size_t i = 0; i < OL_UPSTREAM_RESULTS; i++) {
        upstream[i] = __atomic_load_n(&root_->upstream[i], __ATOMIC_RELAXED);
    }
}

void
SessionStore::count_delivery(ol_delivery_outcome outcome)
{
    /* an atomic add, as the metrics' counters: no change of the journal
     * writes these words, and no attempt waits for the lock */
    uint64_t *counter =
        outcome == OL_DELIVERY_DELIVERED ? &root_->stats.backchannel_delivered
        : outcome == OL_DELIVERY_RETRIED ? &root_->stats.backchannel_retried
                                         : &root_->stats.backchannel_failed;
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

void
SessionStore::stats(ol_store_stats &out)
{
    Locked lock(*this);
    out = root_->stats;
    out.slots = root_->slot_count;
    out.slots_free = root_->free_count;
    /* the totals of before the causes were told apart */
    const uint64_t *ends = out.ends;
    out.ended = ends[OL_END_LOGOUT] + ends[OL_END_ADMIN] +
                ends[OL_END_UPSTREAM] + ends[OL_END_REPLACED];
    out.expired = ends[OL_END_IDLE] + ends[OL_END_LIFETIME];
    out.evicted = ends[OL_END_EVICTED];
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
    Locked lock(*this);
    return check();
}

/* Never follows a pointer before knowing it is a slot: a damaged store
 * must be found, not crash its reader. */
const char *
SessionStore::check() const
{
    if (root_->stats.sessions > root_->slot_count ||
        root_->free_count > root_->slot_count) {
        return "counts larger than the store";
    }
    if (root_->stats.pending > root_->pending_slot_count * UINT8_MAX ||
        root_->pending_free_count > root_->pending_slot_count) {
        return "pending counts larger than the store";
    }
    /* each slot belongs to one session or to its free list */
    std::vector<uint8_t> owned;
    try {
        owned.assign(root_->slot_count + root_->pending_slot_count, 0);
    } catch (...) {
        owned.clear(); /* that check is skipped, the others are made */
    }
    auto own = [&](const void *slot) {
        if (owned.empty()) {
            return true;
        }
        auto *at = static_cast<const char *>(slot);
        size_t i =
            is_pending_slot(slot)
                ? root_->slot_count +
                      static_cast<size_t>(at - root_->pending_slots) / slot_size
                : static_cast<size_t>(at - root_->slots) / slot_size;
        return owned[i]++ == 0;
    };
    /* a session's (or a pending one's) slots and data; its slot count
     * added to used */
    auto node_fault = [&](const SessionNode *n, bool pending,
                          uint64_t &used) -> const char * {
        if (n->data_len > OL_SESSION_DATA_MAX || n->sub_len > n->data_len ||
            n->slots != slots_for(n->data_len)) {
            return "a session's length does not fit its slots";
        }
        size_t chain = 1;
        if (!own(n)) {
            return "slots: one taken twice";
        }
        for (const OverflowSlot *o = n->overflow; o; o = o->next) {
            if (!(pending ? is_pending_slot(o) : is_slot(o)) ||
                ++chain > n->slots || !own(o)) {
                return "a session's overflow slots are wrong";
            }
        }
        if (chain != n->slots) {
            return "a session has fewer overflow slots than counted";
        }
        char data[OL_SESSION_DATA_MAX];
        read_data(n, data);
        size_t at = n->sub_len;
        for (unsigned c = 0; c < 2 * n->client_count; c++) {
            if (at >= n->data_len) {
                break;
            }
            at += 1 + static_cast<uint8_t>(data[at]);
        }
        if (at != n->data_len) {
            return "a session's client ids do not fill its data";
        }
        used += chain;
        return nullptr;
    };
    uint64_t in_lru = 0;
    uint64_t used_slots = 0;
    const SessionNode *newer = nullptr;
    for (const SessionNode *n = root_->lru_newest; n; n = n->lru_older) {
        if (!is_slot(n)) {
            return "LRU list: not a slot";
        }
        if (n->lru_newer != newer) {
            return "LRU list: broken back link";
        }
        if (++in_lru > root_->stats.sessions) {
            return "LRU list: more sessions than counted (or a cycle)";
        }
        if (const char *fault = node_fault(n, false, used_slots)) {
            return fault;
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
            const SessionNode *prev = nullptr;
            for (const SessionNode *n = index.buckets[b]; n;
                 n = n->*index.next) {
                if (!is_slot(n)) {
                    return "an index holds what is not a slot";
                }
                const SessionNode *up = n->lru_newer;
                if (up != nullptr ? !is_slot(up) || up->lru_older != n
                                  : root_->lru_newest != n) {
                    return "an index holds a session the LRU list does not";
                }
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
                if (index.buckets == root_->by_sub && n->prev_by_sub != prev) {
                    return "the subject index: broken back link";
                }
                prev = n;
            }
        }
        if (found != root_->stats.sessions) {
            return "an index holds fewer sessions than counted";
        }
    }
    uint64_t free_slots = 0;
    for (const FreeSlot *f = root_->free_slots; f; f = f->next) {
        if (!is_slot(f) || ++free_slots > root_->free_count || !own(f)) {
            return "free slots: not a slot, taken, or more than counted";
        }
    }
    if (free_slots != root_->free_count) {
        return "free slots: fewer than counted";
    }
    if (used_slots + free_slots != root_->slot_count) {
        return "slots: some are lost";
    }
    /* the outbox and the pending area */
    uint64_t pending_used = 0;
    uint64_t waiting = 0;
    uint64_t in_outbox = 0;
    newer = nullptr;
    for (const SessionNode *p = root_->outbox_newest; p; p = p->lru_older) {
        if (!is_pending_slot(p)) {
            return "outbox: not a pending slot";
        }
        if (p->lru_newer != newer) {
            return "outbox: broken back link";
        }
        if (++in_outbox > root_->pending_slot_count) {
            return "outbox: more than its slots (or a cycle)";
        }
        if (const char *fault = node_fault(p, true, pending_used)) {
            return fault;
        }
        waiting += p->client_count;
        newer = p;
    }
    if (newer != root_->outbox_oldest) {
        return "outbox: oldest end is wrong";
    }
    if (waiting != root_->stats.pending) {
        return "outbox: deliveries not as counted";
    }
    uint64_t pending_free = 0;
    for (const FreeSlot *f = root_->pending_free; f; f = f->next) {
        if (!is_pending_slot(f) || ++pending_free > root_->pending_free_count ||
            !own(f)) {
            return "free pending slots: not a slot, taken, or more than "
                   "counted";
        }
    }
    if (pending_free != root_->pending_free_count ||
        pending_used + pending_free != root_->pending_slot_count) {
        return "pending slots: some are lost";
    }
    return nullptr;
}

} // namespace oidc_logout
