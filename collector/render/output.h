/*  output.h: turning a collected run in Redis into files.
 *
 *  <output_dir>/<run>/report.json                       counts per profile and state, timings
 *  <output_dir>/<run>/<profile>/digest.md                 group_by run
 *  <output_dir>/<run>/<profile>/<period>/digest.md        group_by day | week | month
 *
 *  Rendering reads only Redis, so it can be repeated at any time (`arxdigest render RUN`)
 *  without asking any worker or LLM again.
 */
#ifndef AX_OUTPUT_H
#define AX_OUTPUT_H

#include <hiredis/hiredis.h>

/*  Renders every output of run into output_dir. group_by NULL: the run's own setting.
 *  On success returns 0 and *folder (caller frees) is the run's output folder. -1 with
 *  *err otherwise. generated_at: unix seconds printed as the generation time. */
int ax_output_render_run(redisContext *c, const char *run, const char *output_dir, const char *group_by,
                         int64_t generated_at, char **folder, char **err);

/*  Makes sure output_dir exists (mkdir -p) and a file can be created in it, so that a
 *  folder that cannot be written is found before a run's work, not when it is rendered.
 *  0, or -1 with *err naming the folder and the cause. */
int ax_output_check_dir(const char *output_dir, char **err);

#endif
