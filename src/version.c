/*
 * version.c: --version output: our version, how we were built, and the library versions we run
 * with (linked at run time, so they are asked, not assumed).
 */
#include <stdio.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "haf/cmd.h"

void
cmd_print_version(void)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

    printf("hsm-audit-forwarder %s\n", HAF_VERSION);
    printf("build: %s, C%ld, %s\n", HAF_COMPILER, (long)(__STDC_VERSION__ / 100 % 100),
           HAF_BUILD_INFO);
    printf("features: inotify with polling fallback, systemd notify (no libsystemd), "
           "AWS SigV4, IMDSv2/ECS/web identity/STS credentials\n");
    printf("libcurl %s (%s)\n", cv->version, cv->ssl_version ? cv->ssl_version : "no TLS");
    printf("OpenSSL %s\n", OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("jansson %s\n", jansson_version_str());
    printf("libyaml %s\n", yaml_get_version_string());
}
