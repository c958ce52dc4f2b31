/*
 * digest_tool.c: a test driver for the digest chain and the signers, until the daemon emits
 * digests itself. Reads events as JSON lines {"timestamp":N,"message":"..."} on stdin (what
 * `aws logs get-log-events` returns per event), feeds them to the accumulator in input order,
 * seals a record every --every events (and once at the end, as a stop record with --stop), signs
 * each with --key-file or --kms-key-id (KMS through the environment's credentials, AWS_REGION and
 * AWS_ENDPOINT_URL[_KMS]), and prints each shipped record on its own line.
 *
 *   digest_tool [--key-file PEM | --kms-key-id ID [--alg ALG]] [--stream S] [--every N]
 *               [--time-ms T] [--interval-s I] [--stop] [--gap-after N --gap-ms MS]
 * Records are time_ms T, T + I s, ...; --gap-after N adds MS more after the Nth record (a
 * forwarder that was down).
 * Exit 0 on success, 1 on any failure (with a message on stderr).
 *
 *   digest_tool --bench N
 * prints the CPU seconds the chain costs for N events of 330 bytes (the leaves, the sort and the
 * events hash of every record, sealed whenever the accumulator is full), per million events:
 * the CPU cost of digests on (tests/bench/RESULTS.md).
 *
 *   digest_tool --bench-verify N KEY.pem
 * builds the same N events and their records (signed with KEY.pem), then runs verify.c over them
 * and prints its CPU seconds per million events and the peak RSS.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "haf/creds.h"
#include "haf/digest.h"
#include "haf/http.h"
#include "haf/kms.h"
#include "haf/sign.h"
#include "haf/verify.h"

struct tool {
    struct signer *signer;
    struct digest_acc acc;
    const char *stream;
    int64_t time_ms;
    uint32_t interval_s;
    long sealed, gap_after;
    int64_t gap_ms;
};

static int
emit(struct tool *t, enum digest_kind kind)
{
    struct digest_record r;
    struct buf canon, sig, out, err;
    int rc = 1;

    buf_init(&canon, 0);
    buf_init(&sig, 0);
    buf_init(&out, 0);
    buf_init(&err, 0);
    if (digest_acc_seal(&t->acc, kind, t->stream, t->time_ms, t->interval_s,
                        signer_key_id(t->signer), signer_alg(t->signer), &r) != HAF_OK) {
        fprintf(stderr, "digest_tool: seal failed\n");
        goto out;
    }
    t->time_ms += (int64_t)t->interval_s * 1000;
    if (++t->sealed == t->gap_after)
        t->time_ms += t->gap_ms;
    if (digest_record_canonical(&r, &canon) != HAF_OK ||
        signer_sign(t->signer, buf_span(&canon), &sig, &err) != HAF_OK) {
        fprintf(stderr, "digest_tool: signing failed: %s\n", buf_cstr(&err));
        goto clean;
    }
    r.sig = malloc(sig.len);
    memcpy(r.sig, sig.p, sig.len);
    r.sig_len = sig.len;
    if (digest_record_json(&r, &out) != HAF_OK)
        goto clean;
    printf("%s\n", buf_cstr(&out));
    rc = 0;
clean:
    digest_record_clean_up(&r);
out:
    buf_clean_up(&canon);
    buf_clean_up(&sig);
    buf_clean_up(&out);
    buf_clean_up(&err);
    return rc;
}

static double
cpu_s(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
bench(long n)
{
    struct digest_head h;
    struct digest_acc a;
    struct digest_record r;
    char msg[330];
    double t0;

    memset(msg, 'x', sizeof(msg));
    digest_head_init(&h);
    digest_acc_init(&a, &h);
    t0 = cpu_s();
    for (long i = 0; i < n; i++) {
        struct digest_pos p = {true, 1, (uint64_t)i};

        memcpy(msg + 16, &i, sizeof(i)); /* every message differs */
        if (digest_acc_full(&a)) {
            if (digest_acc_seal(&a, DIGEST_KIND_DIGEST, "s", 1, 300, "k", "ED25519", &r))
                return 1;
            digest_record_clean_up(&r);
        }
        if (digest_acc_add(&a, 1700000000000 + i / 4, span_make(msg, sizeof(msg)), &p))
            return 1;
    }
    if (digest_acc_seal(&a, DIGEST_KIND_DIGEST, "s", 1, 300, "k", "ED25519", &r))
        return 1;
    digest_record_clean_up(&r);
    printf("digest chain: %ld events of %zu bytes: %.3f CPU-s per 1M events\n", n, sizeof(msg),
           (cpu_s() - t0) * 1e6 / (double)n);
    digest_acc_clean_up(&a);
    return 0;
}

/* A record sealed from `a`, signed, added to vs. */
static int
bench_seal(struct digest_acc *a, struct signer *key, int64_t time_ms, struct verify_stream *vs)
{
    struct digest_record r;
    struct buf canon, sig, out;
    int rc = 1;

    buf_init(&canon, 0);
    buf_init(&sig, 0);
    buf_init(&out, 0);
    if (digest_acc_seal(a, DIGEST_KIND_DIGEST, "s", time_ms, 300, signer_key_id(key),
                        signer_alg(key), &r) != HAF_OK)
        goto out;
    if (digest_record_canonical(&r, &canon) == HAF_OK &&
        signer_sign(key, buf_span(&canon), &sig, NULL) == HAF_OK && (r.sig = malloc(sig.len))) {
        memcpy(r.sig, sig.p, sig.len);
        r.sig_len = sig.len;
        if (digest_record_json(&r, &out) == HAF_OK &&
            verify_add_record(vs, time_ms, buf_span(&out)) == HAF_OK)
            rc = 0;
    }
    digest_record_clean_up(&r);
out:
    buf_clean_up(&canon);
    buf_clean_up(&sig);
    buf_clean_up(&out);
    return rc;
}

static int
bench_verify(long n, const char *key_file)
{
    struct signer *key = NULL;
    struct sign_pubkey *pub = NULL;
    struct verify_stream *vs = verify_stream_new("s");
    struct verify_report rep;
    struct digest_head h;
    struct digest_acc a;
    struct buf err, pem;
    struct rusage ru;
    char msg[330];
    double t0, spent = 0;
    int64_t rec_ms = 1800000000000;
    bool proven;
    FILE *f = fopen(key_file, "r");

    buf_init(&err, 0);
    buf_init(&pem, 0);
    if (!vs || !f || signer_open_file(key_file, &key, &err) != HAF_OK)
        return 1;
    while (fgets(msg, sizeof(msg), f))
        if (buf_adds(&pem, msg) != HAF_OK)
            return 1;
    fclose(f);
    if (sign_pubkey_from_pem(buf_span(&pem), &pub) != HAF_OK)
        return 1;
    memset(msg, 'x', sizeof(msg));
    digest_head_init(&h);
    digest_acc_init(&a, &h);
    for (long i = 0; i < n; i++) {
        int64_t ts = 1700000000000 + i / 4;

        memcpy(msg + 16, &i, sizeof(i));
        if (digest_acc_full(&a) && bench_seal(&a, key, rec_ms++, vs))
            return 1;
        if (digest_acc_add(&a, ts, span_make(msg, sizeof(msg)), NULL) != HAF_OK)
            return 1;
        t0 = cpu_s();
        if (verify_add_event(vs, ts, span_make(msg, sizeof(msg))) != HAF_OK)
            return 1;
        spent += cpu_s() - t0;
    }
    if (bench_seal(&a, key, rec_ms++, vs))
        return 1;
    t0 = cpu_s();
    {
        struct verify_opts o = {.key = pub, .from_start = true};
        if (verify_stream_run(vs, &o, &rep) != HAF_OK)
            return 1;
    }
    spent += cpu_s() - t0;
    getrusage(RUSAGE_SELF, &ru);
    proven = rep.proven;
    printf("verify: %ld events, %s: %.3f CPU-s per 1M events, peak RSS %.1f MiB\n", n,
           rep.proven ? "proven" : "NOT proven", spent * 1e6 / (double)n,
           (double)ru.ru_maxrss / 1024.0);
    verify_report_clean_up(&rep);
    verify_stream_free(vs);
    digest_acc_clean_up(&a);
    sign_pubkey_free(pub);
    signer_free(key);
    buf_clean_up(&err);
    buf_clean_up(&pem);
    return proven ? 0 : 1;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"key-file", required_argument, NULL, 'k'},
        {"kms-key-id", required_argument, NULL, 'm'},
        {"alg", required_argument, NULL, 'a'},
        {"stream", required_argument, NULL, 's'},
        {"every", required_argument, NULL, 'e'},
        {"time-ms", required_argument, NULL, 't'},
        {"interval-s", required_argument, NULL, 'i'},
        {"stop", no_argument, NULL, 'S'},
        {"gap-after", required_argument, NULL, 'g'},
        {"gap-ms", required_argument, NULL, 'G'},
        {NULL, 0, NULL, 0},
    };
    struct tool t = {.stream = "stream", .time_ms = 1700000000000, .interval_s = 300};
    const char *key_file = NULL, *kms_key = NULL, *alg = NULL;
    struct http_client *http = NULL;
    struct creds_provider *creds = NULL;
    struct kms_client *kms = NULL;
    struct digest_head head;
    struct buf err;
    long every = 0;
    bool stop = false;
    char line[300000];
    int c, rc = 1;

    if (argc == 3 && strcmp(argv[1], "--bench") == 0)
        return bench(atol(argv[2]));
    if (argc == 4 && strcmp(argv[1], "--bench-verify") == 0)
        return bench_verify(atol(argv[2]), argv[3]);
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_file = optarg;
            break;
        case 'm':
            kms_key = optarg;
            break;
        case 'a':
            alg = optarg;
            break;
        case 's':
            t.stream = optarg;
            break;
        case 'e':
            every = atol(optarg);
            break;
        case 't':
            t.time_ms = atoll(optarg);
            break;
        case 'i':
            t.interval_s = (uint32_t)atol(optarg);
            break;
        case 'S':
            stop = true;
            break;
        case 'g':
            t.gap_after = atol(optarg);
            break;
        case 'G':
            t.gap_ms = atoll(optarg);
            break;
        default:
            return 2;
        }
    }
    buf_init(&err, 0);
    if (key_file) {
        if (signer_open_file(key_file, &t.signer, &err) != HAF_OK) {
            fprintf(stderr, "digest_tool: %s", buf_cstr(&err));
            return 1;
        }
    } else if (kms_key) {
        struct creds_opts copts = {.region = getenv("AWS_REGION")};

        http = http_client_new(NULL);
        creds = http ? creds_provider_new(&copts, http) : NULL;
        kms = creds ? kms_client_new(NULL, getenv("AWS_REGION"), http, creds) : NULL;
        if (!kms || signer_new_kms(kms, kms_key, alg, &t.signer) != HAF_OK) {
            fprintf(stderr, "digest_tool: cannot set up KMS\n");
            goto out;
        }
    } else {
        fprintf(stderr, "digest_tool: --key-file or --kms-key-id\n");
        return 2;
    }
    digest_head_init(&head);
    digest_acc_init(&t.acc, &head);
    while (fgets(line, sizeof(line), stdin)) {
        json_error_t jerr;
        json_t *ev = json_loads(line, 0, &jerr);
        json_t *msg = json_object_get(ev, "message");

        if (!json_is_integer(json_object_get(ev, "timestamp")) || !json_is_string(msg)) {
            fprintf(stderr, "digest_tool: bad event line: %s", line);
            json_decref(ev);
            goto out;
        }
        if (digest_acc_add(&t.acc, json_integer_value(json_object_get(ev, "timestamp")),
                           span_make(json_string_value(msg), json_string_length(msg)),
                           NULL) != HAF_OK) {
            json_decref(ev);
            goto out;
        }
        json_decref(ev);
        if (every > 0 && digest_acc_count(&t.acc) >= (size_t)every && emit(&t, DIGEST_KIND_DIGEST))
            goto out;
    }
    if (emit(&t, stop ? DIGEST_KIND_STOP : DIGEST_KIND_DIGEST))
        goto out;
    rc = 0;
out:
    digest_acc_clean_up(&t.acc);
    signer_free(t.signer);
    kms_client_free(kms);
    creds_provider_free(creds);
    http_client_free(http);
    buf_clean_up(&err);
    return rc;
}
