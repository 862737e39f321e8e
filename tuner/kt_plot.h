/*
 * kt_plot: small, dependency-free SVG charts (what `ktune report` draws).
 *
 * A figure has two axes (linear or log scale), any number of data series (a line
 * and/or markers, optionally some points emphasised), a "band" series drawn wide and
 * translucent beneath the others (to highlight a path through the data), vertical
 * markers (e.g. crossovers) and horizontal reference lines (e.g. a machine's limits),
 * and a legend.  Axis ranges are fitted to the data and the reference lines; log axes
 * get decade ticks.  Every point carries a tooltip (<title>).
 *
 * The SVG is self-contained: inline styles, no scripts, no external references.  Its
 * elements carry classes for tests and style sheets: svg.kt-plot, g.kt-series
 * (data-name, data-points), g.kt-band, g.kt-marker, g.kt-limit, g.kt-legend.
 */
#ifndef KT_PLOT_H
#define KT_PLOT_H

#include <stddef.h>
#include <stdio.h>

typedef struct kt_plot kt_plot;

typedef enum kt_plot_scale { KT_PLOT_LINEAR, KT_PLOT_LOG } kt_plot_scale;

enum { KT_PLOT_X = 0, KT_PLOT_Y = 1 };

/* Series styles (or'ed). */
enum {
    KT_PLOT_LINE = 1u << 0,    /* connect consecutive points */
    KT_PLOT_MARKERS = 1u << 1, /* a hollow marker at each point (filled when emphasised) */
    KT_PLOT_BAND = 1u << 2,    /* wide and translucent, beneath every other series */
    KT_PLOT_DASHED = 1u << 3
};

/*
 * A new figure of width x height pixels; id must be unique in the document the SVG
 * goes into (it prefixes the figure's internal ids).  NULL when out of memory.
 */
kt_plot *kt_plot_new(const char *id, const char *title, double width, double height);
void kt_plot_free(kt_plot *p);

/* Sets an axis: its label (with unit), the short name used in tooltips, and its scale. */
int kt_plot_axis(kt_plot *p, int axis, const char *label, const char *name, kt_plot_scale s);

/*
 * Limits a log axis to at most `decades` decades below the largest value (0: no limit),
 * though never so far that a band series' point falls outside: a variant a million
 * times slower than the others does not flatten everything else.  Points beyond are
 * cut off at the edge; their series get data-clipped="N".
 */
int kt_plot_axis_span(kt_plot *p, int which, double decades);

/*
 * Adds a series of n points (copied); points whose coordinates are not finite, or not
 * positive on a log axis, are gaps.  color: a CSS color, or NULL for the next one of
 * the palette.  Returns the series' index, or -1 when out of memory.
 */
int kt_plot_series(kt_plot *p, const char *name, const double *x, const double *y, size_t n,
                   unsigned style, const char *color);

/* Emphasises point i of series s (a filled marker).  -1 on a bad index. */
int kt_plot_emphasize(kt_plot *p, int s, size_t i);

/* A vertical marker at x with a short label (may be NULL) and a tooltip. */
int kt_plot_vline(kt_plot *p, double x, const char *label, const char *tooltip);

/* A horizontal reference line at y, labelled (e.g. "memory bandwidth 46 GB/s"). */
int kt_plot_hline(kt_plot *p, double y, const char *label);

/*
 * Writes the figure as SVG to f: a standalone document (XML declaration, namespace)
 * when standalone, else an <svg> element to embed in HTML.  Returns 0, or -1 when
 * the figure has no data or writing failed.
 */
int kt_plot_write(const kt_plot *p, FILE *f, int standalone);

/* Writes s to f with XML's special characters escaped. */
void kt_plot_escape(FILE *f, const char *s);

#endif
