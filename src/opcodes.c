/*
 * opcodes.c: the CloudHSM opcode catalogue (interface and lookup contracts in opcodes.h; sources
 * per row in docs/audit-format.md "Opcode catalogue").
 *
 * The table is sorted by name in strcmp order, so opcode_by_name is a binary search; the unit
 * test checks the order, the uniqueness of names and codes, and that every category has a name.
 * opcode_by_code goes through a 256-slot index (slot = 1 + table position, 0 = none) built once
 * from the table with pthread_once, so the codes live in one place only. Codes of 256 and above
 * (none is documented today) would fall back to a linear scan.
 *
 * Categories follow the section of the AWS table an opcode sits in, refined where the section is
 * wider than the action (e.g. "Key Management" holds generation, deletion, wrap, unwrap, sharing
 * and cluster synchronisation). Where we had to choose, the reason is in docs/audit-format.md.
 */
#include "haf/opcodes.h"

#include <pthread.h>
#include <string.h>

#define CUR  OPCODE_F_CURRENT
#define HIST OPCODE_F_HISTORICAL
#define EXMP OPCODE_F_EXAMPLE
#define NONE OPCODE_CODE_NONE

static const struct opcode_info table[] = {
    {"CN_APPROVE_TOKEN", NONE, OPCODE_CAT_QUORUM_TOKEN, CUR,
     "approve a quorum authentication token for a user action"},
    {"CN_APP_FINALIZE", NONE, OPCODE_CAT_LOGIN_LOGOUT, CUR,
     "connection to the HSM closed; its session keys and quorum tokens were deleted"},
    {"CN_BACKUP_BEGIN", NONE, OPCODE_CAT_BACKUP_RESTORE, CUR, "backup started"},
    {"CN_BACKUP_END", NONE, OPCODE_CAT_BACKUP_RESTORE, CUR, "backup completed"},
    {"CN_CERT_AUTH_SOURCE_KEY_EXCHANGE", NONE, OPCODE_CAT_CERT_AUTH, CUR,
     "certificate-based authentication: source key exchange"},
    {"CN_CERT_AUTH_STORE_CERT", NONE, OPCODE_CAT_CERT_AUTH, CUR,
     "certificate-based authentication: store a certificate"},
    {"CN_CERT_AUTH_TARGET_KEY_EXCHANGE", NONE, OPCODE_CAT_CERT_AUTH, CUR,
     "certificate-based authentication: target key exchange"},
    {"CN_CERT_AUTH_VALIDATE_PEER_CERTS", NONE, OPCODE_CAT_CERT_AUTH, CUR,
     "certificate-based authentication: validate peer certificates"},
    {"CN_CHANGE_PSWD", 0x9, OPCODE_CAT_PASSWORD_CHANGE, CUR, "change a user's password"},
    {"CN_CLONE_SOURCE_INIT", NONE, OPCODE_CAT_CLUSTER_SYNC, HIST, "HSM clone, source side: start"},
    {"CN_CLONE_SOURCE_STAGE1", NONE, OPCODE_CAT_CLUSTER_SYNC, HIST, "HSM clone, source side: end"},
    {"CN_CLONE_TARGET_INIT", NONE, OPCODE_CAT_CLUSTER_SYNC, HIST, "HSM clone, target side: start"},
    {"CN_CLONE_TARGET_STAGE1", NONE, OPCODE_CAT_CLUSTER_SYNC, HIST, "HSM clone, target side: end"},
    {"CN_CLOSE_PARTITION_SESSIONS", NONE, OPCODE_CAT_LOGIN_LOGOUT, CUR,
     "close sessions on the HSM"},
    {"CN_CLOSE_SESSION", NONE, OPCODE_CAT_LOGIN_LOGOUT, CUR,
     "session with the HSM closed; its session keys and quorum tokens were deleted"},
    {"CN_CREATE_APPLIANCE_USER", 0xfc, OPCODE_CAT_USER_MANAGEMENT, HIST,
     "create the appliance user (AU, the CloudHSM service)"},
    {"CN_CREATE_CO", 0x4, OPCODE_CAT_USER_MANAGEMENT, CUR, "create a crypto officer (CO)"},
    {"CN_CREATE_OBJECT", NONE, OPCODE_CAT_KEY_IMPORT, CUR, "import a public key, unwrapped"},
    {"CN_CREATE_USER", 0x3, OPCODE_CAT_USER_MANAGEMENT, CUR, "create a crypto user (CU)"},
    {"CN_DELETE_TOKEN", NONE, OPCODE_CAT_QUORUM_TOKEN, CUR, "delete quorum tokens"},
    {"CN_DELETE_USER", 0xa1, OPCODE_CAT_USER_MANAGEMENT, CUR, "delete a user"},
    {"CN_DERIVE_KEY", NONE, OPCODE_CAT_KEY_GENERATION, CUR,
     "derive a symmetric key from an existing key"},
    {"CN_DESTROY_OBJECT", 0x11, OPCODE_CAT_KEY_DELETION, CUR,
     "delete a session key (before 2023: delete a key)"},
    {"CN_EXTRACT_MASKED_OBJECT_USER", 0xf0, OPCODE_CAT_CLUSTER_SYNC, CUR,
     "wrap a key with the HSM's attributes to send it to the other HSMs of the cluster"},
    {"CN_FIPS_RAND", NONE, OPCODE_CAT_OTHER, CUR,
     "generate a FIPS-compliant random number (logged on hsm1.medium only)"},
    {"CN_GENERATE_KEY", 0x17, OPCODE_CAT_KEY_GENERATION, CUR, "generate a symmetric key"},
    {"CN_GENERATE_KEY_PAIR", 0x19, OPCODE_CAT_KEY_GENERATION, CUR,
     "generate an asymmetric key pair"},
    {"CN_GEN_KEY_ENC_KEY", NONE, OPCODE_CAT_INIT_CRITICAL, CUR,
     "generate the key encryption key (KEK)"},
    {"CN_GEN_PSWD_ENC_KEY", 0x1d, OPCODE_CAT_INIT_CRITICAL, CUR,
     "generate the password encryption key (PEK)"},
    {"CN_GET_TOKEN", NONE, OPCODE_CAT_QUORUM_TOKEN, CUR,
     "request a signing token to start a quorum operation"},
    {"CN_INIT_DONE", 0x95, OPCODE_CAT_INIT_CRITICAL, CUR, "HSM initialisation complete"},
    {"CN_INIT_TOKEN", 0x1, OPCODE_CAT_INIT_CRITICAL, CUR, "HSM initialisation start"},
    {"CN_INSERT_MASKED_OBJECT_USER", 0xf1, OPCODE_CAT_CLUSTER_SYNC, CUR,
     "insert an encrypted key, with attributes, from another HSM of the cluster"},
    {"CN_LOGIN", 0xd, OPCODE_CAT_LOGIN_LOGOUT, CUR, "user login"},
    {"CN_LOGOUT", 0xe, OPCODE_CAT_LOGIN_LOGOUT, CUR, "user logout"},
    {"CN_MODIFY_OBJECT", NONE, OPCODE_CAT_OTHER, CUR, "set a key attribute"},
    {"CN_NIST_AES_WRAP", 0x1e, OPCODE_CAT_KEY_EXPORT, CUR,
     "encrypt or decrypt a key with an AES key (AES key wrap)"},
    {"CN_RESTORE_BEGIN", NONE, OPCODE_CAT_BACKUP_RESTORE, CUR, "restore of a backup started"},
    {"CN_RESTORE_END", NONE, OPCODE_CAT_BACKUP_RESTORE, CUR, "restore of a backup completed"},
    {"CN_SESSION_CLOSE", NONE, OPCODE_CAT_LOGIN_LOGOUT, EXMP,
     "close session (name used in the guide's prose for CN_CLOSE_SESSION)"},
    {"CN_SET_M_VALUE", NONE, OPCODE_CAT_QUORUM_TOKEN, CUR,
     "set quorum authentication (M of N) for a user action"},
    {"CN_SET_NODEID", NONE, OPCODE_CAT_INIT_CRITICAL, CUR, "set the HSM's node ID in the cluster"},
    {"CN_SHARE_OBJECT", 0x12, OPCODE_CAT_KEY_SHARING, CUR, "share or unshare a key"},
    {"CN_STORE_KBK_SHARE", NONE, OPCODE_CAT_INIT_CRITICAL, CUR, "store the key backup key (KBK)"},
    {"CN_TOMBSTONE_OBJECT", NONE, OPCODE_CAT_KEY_DELETION, CUR,
     "delete a token key (before 2023: mark a key for deletion)"},
    {"CN_UNWRAP_KEY", 0x1b, OPCODE_CAT_KEY_IMPORT, CUR, "import an encrypted copy of a key"},
    {"CN_WRAP_KEY", 0x1a, OPCODE_CAT_KEY_EXPORT, CUR, "export an encrypted copy of a key"},
    {"CN_ZEROIZE", NONE, OPCODE_CAT_INIT_CRITICAL, CUR, "zeroise the HSM"},
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))
_Static_assert(TABLE_LEN < 255, "code_index holds 1 + position in a byte");
_Static_assert(sizeof("CN_CERT_AUTH_VALIDATE_PEER_CERTS") < 256,
               "name_len holds a length in a byte");

static const char *const category_names[OPCODE_CAT_MAX_] = {
    [OPCODE_CAT_UNKNOWN] = "unknown",
    [OPCODE_CAT_LOGIN_LOGOUT] = "login_logout",
    [OPCODE_CAT_USER_MANAGEMENT] = "user_management",
    [OPCODE_CAT_PASSWORD_CHANGE] = "password_change",
    [OPCODE_CAT_KEY_GENERATION] = "key_generation",
    [OPCODE_CAT_KEY_DELETION] = "key_deletion",
    [OPCODE_CAT_KEY_EXPORT] = "key_export",
    [OPCODE_CAT_KEY_IMPORT] = "key_import",
    [OPCODE_CAT_KEY_SHARING] = "key_sharing",
    [OPCODE_CAT_CLUSTER_SYNC] = "cluster_sync",
    [OPCODE_CAT_QUORUM_TOKEN] = "quorum_token",
    [OPCODE_CAT_BACKUP_RESTORE] = "backup_restore",
    [OPCODE_CAT_INIT_CRITICAL] = "init_critical",
    [OPCODE_CAT_CERT_AUTH] = "cert_auth",
    [OPCODE_CAT_TIME] = "time",
    [OPCODE_CAT_OTHER] = "other",
};

/* Built once from the table: the code index and the name lengths (the hot path compares a name
 * with one length check and one word compare). `ready` spares later calls the pthread_once call. */
static unsigned char code_index[256];
static unsigned char name_len[TABLE_LEN];
static int index_ready;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void
index_build(void)
{
    for (size_t i = 0; i < TABLE_LEN; i++) {
        if (table[i].code < 256)
            code_index[table[i].code] = (unsigned char)(i + 1);
        name_len[i] = (unsigned char)strlen(table[i].name);
    }
    __atomic_store_n(&index_ready, 1, __ATOMIC_RELEASE);
}

static inline void
index_ensure(void)
{
    if (!__atomic_load_n(&index_ready, __ATOMIC_ACQUIRE))
        (void)pthread_once(&index_once, index_build);
}

const struct opcode_info *
opcode_table(size_t *n)
{
    *n = TABLE_LEN;
    return table;
}

const struct opcode_info *
opcode_by_code(uint64_t code)
{
    if (code < 256) {
        unsigned i;
        index_ensure();
        i = code_index[code];
        return i ? &table[i - 1] : NULL;
    }
    for (size_t i = 0; i < TABLE_LEN; i++) {
        if (table[i].code != NONE && table[i].code == code)
            return &table[i];
    }
    return NULL;
}

/* strcmp order of a span against a NUL-terminated table name. */
static int
name_cmp(struct span a, const char *b)
{
    size_t i = 0;

    for (; i < a.len && b[i] != '\0'; i++) {
        unsigned char x = (unsigned char)a.p[i], y = (unsigned char)b[i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    if (i < a.len)
        return 1;
    return b[i] == '\0' ? 0 : -1;
}

const struct opcode_info *
opcode_by_name(struct span name)
{
    size_t lo = 0, hi = TABLE_LEN;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(name, table[mid].name);
        if (c == 0)
            return &table[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* a[0..n) == b[0..n), 8 bytes a step (the last step overlaps): inlined instead of a memcmp call,
 * which costs more than the compare for names of 8..32 bytes. */
static inline bool
bytes_eq(const char *a, const char *b, size_t n)
{
    uint64_t x0, y0, x1, y1;

    if (n < 8) {
        for (size_t i = 0; i < n; i++) {
            if (a[i] != b[i])
                return false;
        }
        return true;
    }
    /* First and last 8 bytes (overlapping for n < 16): no data-dependent loop for the common
     * names of 8..16 bytes, so no branch to mispredict between opcodes of different lengths. */
    memcpy(&x0, a, 8);
    memcpy(&y0, b, 8);
    memcpy(&x1, a + n - 8, 8);
    memcpy(&y1, b + n - 8, 8);
    if (((x0 ^ y0) | (x1 ^ y1)) != 0)
        return false;
    for (size_t i = 8; i + 8 < n; i += 8) {
        memcpy(&x0, a + i, 8);
        memcpy(&y0, b + i, 8);
        if (x0 != y0)
            return false;
    }
    return true;
}

const struct opcode_info *
opcode_classify(struct span name, uint64_t code)
{
    if (code < 256) {
        unsigned i;
        index_ensure();
        i = code_index[code];
        if (i != 0 && name.len == name_len[i - 1] && bytes_eq(name.p, table[i - 1].name, name.len))
            return &table[i - 1];
    } else {
        const struct opcode_info *o = opcode_by_code(code);
        if (o != NULL && name_cmp(name, o->name) == 0)
            return o;
    }
    return opcode_by_name(name);
}

enum opcode_category
opcode_entry_category(bool has_opcode, struct span name, uint64_t code, bool has_command_type,
                      uint64_t command_type, bool has_log_type, uint64_t log_type)
{
    if (has_opcode) {
        const struct opcode_info *o = opcode_classify(name, code);
        if (o != NULL)
            return o->category;
    }
    if ((has_command_type && command_type == AUDIT_COMMAND_TYPE_TIME_INFO) ||
        (has_log_type && log_type == AUDIT_LOG_TYPE_TIME_INFO))
        return OPCODE_CAT_TIME;
    return OPCODE_CAT_UNKNOWN;
}

const char *
opcode_category_name(enum opcode_category c)
{
    if ((unsigned)c >= OPCODE_CAT_MAX_)
        return "unknown";
    return category_names[c];
}
