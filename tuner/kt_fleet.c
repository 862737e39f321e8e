/*
 * The fleet summary (tuner/kt_fleet.h): per hardware class, the nodes that
 * contributed, the coverage and when it was tuned; from a dump's machines, runs and
 * choices.  Text for `ktune show`, an HTML section for `ktune report`.
 */
#include "config.h"

#include <string.h>

#include "kt_fleet.h"
#include "kt_inspect.h"
#include "kt_plot.h"

/* Appends s to the array a of strings unless it is there. */
static void add_unique(json_t *a, const char *s) {
    size_t i;
    json_t *v;
    if (!s || !*s) return;
    json_array_foreach(a, i, v) if (!strcmp(json_string_value(v), s)) return;
    json_array_append_new(a, json_string(s));
}

json_t *kt_fleet_json(const kt_db_dump *d) {
    json_t *classes = json_array(), *nodes = json_array();
    for (size_t i = 0; i < d->nmachines; i++) {
        const kt_db_machine_row *ma = &d->machines[i];
        json_t *hosts = json_array();
        int runs = 0, complete = 0, ops = 0, sizes = 0;
        char first[KT_DB_TIME_MAX] = "", last[KT_DB_TIME_MAX] = "";
        for (size_t r = 0; r < d->nruns; r++) {
            const kt_db_run_row *ru = &d->runs[r];
            if (ru->machine != ma->id) continue;
            runs++;
            complete += !strcmp(ru->status, "complete");
            add_unique(hosts, ru->host);
            add_unique(nodes, ru->host);
            if (!first[0] || strcmp(ru->started, first) < 0)
                snprintf(first, sizeof first, "%s", ru->started);
            if (ru->ended[0] && strcmp(ru->ended, last) > 0)
                snprintf(last, sizeof last, "%s", ru->ended);
        }
        /* choices come ordered by machine, op, m, n, k, rank */
        const kt_db_choice_row *prev = NULL;
        for (size_t c = 0; c < d->nchoices; c++) {
            const kt_db_choice_row *ch = &d->choices[c];
            if (ch->machine != ma->id) continue;
            ops += !prev || strcmp(prev->op, ch->op) != 0;
            sizes += ch->c.rank == 1;
            prev = ch;
        }
        const kt_db_run_row *lr = kt_ins_last_run(d, ma->id, 0);
        char summary[256];
        json_array_append_new(
            classes,
            json_pack("{s:s, s:s, s:o, s:i, s:i, s:i, s:i, s:i, s:o, s:o, s:o}", "fingerprint",
                      ma->fingerprint, "summary",
                      kt_ins_machine_summary(ma->details, summary, sizeof summary), "nodes",
                      hosts, "runs", runs, "complete_runs", complete, "ops_tuned", ops,
                      "ops_known", (int)kt_op_count(), "tuned_sizes", sizes, "first_started",
                      first[0] ? json_string(first) : json_null(), "last_ended",
                      last[0] ? json_string(last) : json_null(), "last_status",
                      lr ? json_string(lr->status) : json_null()));
    }
    return json_pack("{s:o, s:o}", "classes", classes, "nodes", nodes);
}

/* "1 node (vm)", "3 nodes (a, b, c)", "no node" into buf. */
static const char *nodes_text(json_t *hosts, char *buf, size_t len) {
    size_t n = json_array_size(hosts), used, i;
    json_t *v;
    if (!n) return snprintf(buf, len, "no node"), buf;
    used = (size_t)snprintf(buf, len, "%zu node%s", n, n == 1 ? "" : "s");
    json_array_foreach(hosts, i, v) {
        if (used + 8 >= len) break;
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : " (", kt_cli_jstr(v));
        if (w < 0 || (size_t)w >= len - used) break;
        used += (size_t)w;
    }
    if (used + 1 < len) snprintf(buf + used, len - used, ")");
    return buf;
}

/* "2026-12-01 23:30Z to 23:31Z, last run complete" into buf ("never" without runs). */
static const char *when_text(json_t *c, char *buf, size_t len) {
    json_t *a = json_object_get(c, "first_started"), *b = json_object_get(c, "last_ended");
    json_t *st = json_object_get(c, "last_status");
    char w1[32], w2[32];
    if (!json_is_string(a)) return snprintf(buf, len, "never"), buf;
    kt_ins_when(json_string_value(a), w1, sizeof w1);
    kt_ins_when(json_is_string(b) ? json_string_value(b) : "", w2, sizeof w2);
    /* the same day: the end's time alone */
    const char *end = !strncmp(w1, w2, 11) ? w2 + 11 : w2;
    snprintf(buf, len, "%s to %s, last run %s", w1, json_is_string(b) ? end : "(running)",
             json_is_string(st) ? kt_cli_jstr(st) : "?");
    return buf;
}

void kt_fleet_print(json_t *fleet) {
    json_t *classes = json_object_get(fleet, "classes"), *c;
    size_t nc = json_array_size(classes), nn = json_array_size(json_object_get(fleet, "nodes"));
    size_t i;
    printf("\nfleet: %zu hardware class%s, %zu node%s contributed\n", nc, nc == 1 ? "" : "es",
           nn, nn == 1 ? "" : "s");
    json_array_foreach(classes, i, c) {
        char sfp[64], nodes[256], when[128], line[700];
        snprintf(line, sizeof line, "%s: %s, %d run%s; %d of %d operations, %d tuned sizes; "
                 "tuned %s",
                 kt_ins_short_fp(kt_cli_jstr(json_object_get(c, "fingerprint")), sfp, 60),
                 nodes_text(json_object_get(c, "nodes"), nodes, sizeof nodes),
                 (int)json_integer_value(json_object_get(c, "runs")),
                 json_integer_value(json_object_get(c, "runs")) == 1 ? "" : "s",
                 (int)json_integer_value(json_object_get(c, "ops_tuned")),
                 (int)json_integer_value(json_object_get(c, "ops_known")),
                 (int)json_integer_value(json_object_get(c, "tuned_sizes")),
                 when_text(c, when, sizeof when));
        kt_ins_wrap("  -", 4, line);
    }
}

void kt_fleet_html(FILE *f, json_t *fleet) {
    json_t *classes = json_object_get(fleet, "classes"), *c, *v;
    size_t nc = json_array_size(classes), nn = json_array_size(json_object_get(fleet, "nodes"));
    size_t i, j;
    fprintf(f, "<section class=\"kt-fleet\">\n<h2>Fleet</h2>\n<p class=\"note\">%zu hardware "
               "class%s (one per machine fingerprint), %zu node%s contributed.</p>\n"
               "<table><tr><th class=\"v\">class</th><th class=\"v\">nodes</th><th>runs</th>"
               "<th>operations</th><th>tuned sizes</th><th class=\"v\">tuned</th></tr>\n",
            nc, nc == 1 ? "" : "es", nn, nn == 1 ? "" : "s");
    json_array_foreach(classes, i, c) {
        char when[128];
        fputs("<tr><td class=\"v\"><code>", f);
        kt_plot_escape(f, json_string_value(json_object_get(c, "fingerprint")));
        fputs("</code><br>", f);
        kt_plot_escape(f, json_string_value(json_object_get(c, "summary")));
        fputs("</td><td class=\"v\">", f);
        json_array_foreach(json_object_get(c, "nodes"), j, v) {
            if (j) fputs(", ", f);
            kt_plot_escape(f, json_string_value(v));
        }
        if (!json_array_size(json_object_get(c, "nodes"))) fputs("none", f);
        fprintf(f, "</td><td>%d (%d complete)</td><td>%d of %d</td><td>%d</td><td class=\"v\">",
                (int)json_integer_value(json_object_get(c, "runs")),
                (int)json_integer_value(json_object_get(c, "complete_runs")),
                (int)json_integer_value(json_object_get(c, "ops_tuned")),
                (int)json_integer_value(json_object_get(c, "ops_known")),
                (int)json_integer_value(json_object_get(c, "tuned_sizes")));
        kt_plot_escape(f, when_text(c, when, sizeof when));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}
