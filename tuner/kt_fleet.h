/*
 * The fleet summary of a tuning database (`ktune show`, `ktune report`): its hardware
 * classes (machines, one per fingerprint), the nodes that contributed to each (the
 * distinct host names of its runs), its coverage (operations and sizes with choices)
 * and when it was tuned (its first run's start, its last run's end and status).
 * Derived from the machines, runs and choices tables.
 */
#ifndef KT_FLEET_H
#define KT_FLEET_H

#include <stdio.h>

#include <jansson.h>

#include "kt_db.h"

/*
 * The summary of dump d (read with KT_DB_DUMP_RUNS | KT_DB_DUMP_CHOICES):
 *   {"classes": [{"fingerprint", "summary", "nodes": [host...], "runs", "complete_runs",
 *                 "ops_tuned", "ops_known", "tuned_sizes", "first_started", "last_ended",
 *                 "last_status"}...],
 *    "nodes": [host...]}      every host that contributed, once
 * NULL when out of memory.
 */
json_t *kt_fleet_json(const kt_db_dump *d);

/* Prints the summary as text (ktune show). */
void kt_fleet_print(json_t *fleet);

/* Writes the summary as an HTML section to f (ktune report). */
void kt_fleet_html(FILE *f, json_t *fleet);

#endif
