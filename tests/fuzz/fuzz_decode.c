/*  fuzz_decode.c: libFuzzer target for every decoder of untrusted bytes in codec.h
 *  (bodies from sockets and records from Redis), and ax_body_decode with required keys as
 *  the protocol's receiver calls it. Each must either decode (and then the struct must be
 *  complete and freeable) or fail with a message; never crash, leak or read out of bounds
 *  (built with ASan and UBSan). Run by tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdlib.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *) data;
    char *err = NULL;
    ax_job_t job;
    if (ax_job_decode(d, size, &job, &err) == 0) {
        if (!job.run)
            abort();
        ax_job_clear(&job);
    }
    free(err);
    err = NULL;
    ax_result_t res;
    if (ax_result_decode(d, size, &res, &err) == 0) {
        for (size_t i = 0; i < res.n_items; i++)
            if (!res.items[i].paper.id || (res.n_profiles && !res.items[i].verdicts))
                abort();
        ax_result_clear(&res);
    }
    free(err);
    err = NULL;
    ax_entry_t entry;
    if (ax_entry_decode(d, size, &entry, &err) == 0)
        ax_entry_clear(&entry);
    free(err);
    err = NULL;
    ax_runspec_t spec;
    if (ax_runspec_decode(d, size, &spec, &err) == 0)
        ax_runspec_clear(&spec);
    free(err);
    err = NULL;
    ax_ctl_t ctl;
    if (ax_ctl_decode(d, size, &ctl, &err) == 0)
        ax_ctl_clear(&ctl);
    free(err);
    err = NULL;
    static const char *const required[] = {"run", "job", NULL};
    for (int kind = AX_BODY_CTL; kind <= AX_BODY_RUNSPEC; kind++) {
        ax_body_t body;
        int rc = ax_body_decode((ax_body_kind_t) kind, d, size, kind == AX_BODY_RUNSPEC ? NULL : required, &body,
                                &err);
        if (rc == 0)
            ax_body_clear((ax_body_kind_t) kind, &body);
        else if (!err)
            abort();                    /* a failure always says why */
        free(err);
        err = NULL;
    }
    ax_paper_t *papers = NULL;
    size_t n = 0;
    if (ax_papers_decode(d, size, &papers, &n, &err) == 0) {
        for (size_t i = 0; i < n; i++)
            ax_paper_clear(&papers[i]);
        free(papers);
    }
    free(err);
    return 0;
}
