/* SVG charts; see kt_plot.h. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kt_plot.h"

/* A colour-blind-friendly palette (Okabe-Ito, then Tableau), cycled. */
static const char *const palette[] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
                                      "#d55e00", "#f0e442", "#4e79a7", "#b07aa1", "#9c755f",
                                      "#76b7b2", "#59a14f", "#edc948", "#ff9da7"};
#define NPALETTE (sizeof palette / sizeof palette[0])

typedef struct series {
    char *name;
    double *x, *y;
    unsigned char *emph;
    size_t n;
    unsigned style;
    char color[32];
} series;

typedef struct refline {
    double v;
    char *label, *tooltip;
} refline;

typedef struct axis {
    char *label, *name;
    kt_plot_scale scale;
    double span;     /* most decades shown (log), 0: all */
    double lo, hi;   /* fitted range */
} axis;

struct kt_plot {
    char *id, *title;
    double w, h;
    axis ax[2];
    series *s;
    size_t ns;
    refline *vl, *hl;
    size_t nvl, nhl;
};

/* Layout: margins around the plotting area (the legend sits on the right). */
enum { M_LEFT = 64, M_RIGHT = 178, M_TOP = 34, M_BOTTOM = 46 };

static char *dup(const char *s) { return s ? strdup(s) : strdup(""); }

kt_plot *kt_plot_new(const char *id, const char *title, double width, double height) {
    kt_plot *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->id = dup(id);
    p->title = dup(title);
    p->w = width > M_LEFT + M_RIGHT + 100 ? width : M_LEFT + M_RIGHT + 100;
    p->h = height > M_TOP + M_BOTTOM + 80 ? height : M_TOP + M_BOTTOM + 80;
    for (int a = 0; a < 2; a++) {
        p->ax[a].label = dup("");
        p->ax[a].name = dup(a ? "y" : "x");
    }
    if (!p->id || !p->title || !p->ax[0].label || !p->ax[1].label || !p->ax[0].name ||
        !p->ax[1].name) {
        kt_plot_free(p);
        return NULL;
    }
    return p;
}

void kt_plot_free(kt_plot *p) {
    if (!p) return;
    for (size_t i = 0; i < p->ns; i++) {
        free(p->s[i].name);
        free(p->s[i].x);
        free(p->s[i].y);
        free(p->s[i].emph);
    }
    for (size_t i = 0; i < p->nvl; i++) free(p->vl[i].label), free(p->vl[i].tooltip);
    for (size_t i = 0; i < p->nhl; i++) free(p->hl[i].label), free(p->hl[i].tooltip);
    for (int a = 0; a < 2; a++) free(p->ax[a].label), free(p->ax[a].name);
    free(p->s);
    free(p->vl);
    free(p->hl);
    free(p->id);
    free(p->title);
    free(p);
}

int kt_plot_axis(kt_plot *p, int which, const char *label, const char *name, kt_plot_scale s) {
    if (!p || (which != KT_PLOT_X && which != KT_PLOT_Y)) return -1;
    char *l = dup(label), *n = dup(name);
    if (!l || !n) {
        free(l), free(n);
        return -1;
    }
    free(p->ax[which].label);
    free(p->ax[which].name);
    p->ax[which].label = l;
    p->ax[which].name = n;
    p->ax[which].scale = s;
    return 0;
}

int kt_plot_axis_span(kt_plot *p, int which, double decades) {
    if (!p || (which != KT_PLOT_X && which != KT_PLOT_Y) || !(decades >= 0)) return -1;
    p->ax[which].span = decades;
    return 0;
}

int kt_plot_series(kt_plot *p, const char *name, const double *x, const double *y, size_t n,
                   unsigned style, const char *color) {
    series *ns = realloc(p->s, (p->ns + 1) * sizeof *ns);
    if (!ns) return -1;
    p->s = ns;
    series *s = &ns[p->ns];
    memset(s, 0, sizeof *s);
    s->name = dup(name);
    s->x = malloc((n ? n : 1) * sizeof *s->x);
    s->y = malloc((n ? n : 1) * sizeof *s->y);
    s->emph = calloc(n ? n : 1, 1);
    if (!s->name || !s->x || !s->y || !s->emph) {
        free(s->name), free(s->x), free(s->y), free(s->emph);
        return -1;
    }
    if (n) {
        memcpy(s->x, x, n * sizeof *x);
        memcpy(s->y, y, n * sizeof *y);
    }
    s->n = n;
    s->style = style;
    size_t colored = 0;
    for (size_t i = 0; i < p->ns; i++) colored += !(p->s[i].style & KT_PLOT_BAND);
    snprintf(s->color, sizeof s->color, "%s",
             color ? color : (style & KT_PLOT_BAND) ? "#222222" : palette[colored % NPALETTE]);
    return (int)p->ns++;
}

int kt_plot_emphasize(kt_plot *p, int s, size_t i) {
    if (!p || s < 0 || (size_t)s >= p->ns || i >= p->s[s].n) return -1;
    p->s[s].emph[i] = 1;
    return 0;
}

static int add_line(refline **arr, size_t *n, double v, const char *label, const char *tip) {
    refline *a = realloc(*arr, (*n + 1) * sizeof *a);
    if (!a) return -1;
    *arr = a;
    a[*n].v = v;
    a[*n].label = dup(label);
    a[*n].tooltip = dup(tip ? tip : label);
    if (!a[*n].label || !a[*n].tooltip) {
        free(a[*n].label), free(a[*n].tooltip);
        return -1;
    }
    (*n)++;
    return 0;
}

int kt_plot_vline(kt_plot *p, double x, const char *label, const char *tooltip) {
    return add_line(&p->vl, &p->nvl, x, label, tooltip);
}

int kt_plot_hline(kt_plot *p, double y, const char *label) {
    return add_line(&p->hl, &p->nhl, y, label, label);
}

void kt_plot_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* ---- Scales ---------------------------------------------------------------- */

static int usable(const axis *a, double v) {
    return isfinite(v) && (a->scale == KT_PLOT_LINEAR || v > 0);
}

/* Fits the range of axis a to the values seen (lo/hi in data units); 0 when none. */
static int fit(axis *a, double lo, double hi) {
    if (!(lo <= hi)) return 0;
    if (a->scale == KT_PLOT_LOG) {
        double l = floor(log10(lo)), h = ceil(log10(hi));
        if (h <= l) h = l + 1;
        a->lo = pow(10, l);
        a->hi = pow(10, h);
    } else {
        if (hi == lo) hi = lo + 1;
        double span = hi - lo, step = pow(10, floor(log10(span)));
        a->lo = lo >= 0 && lo < span * 0.5 ? 0 : floor(lo / step) * step;
        a->hi = ceil(hi / step) * step;
    }
    return 1;
}

/* Position of v on axis a, as a fraction 0..1 of its length. */
static double frac(const axis *a, double v) {
    if (a->scale == KT_PLOT_LOG) return (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return (v - a->lo) / (a->hi - a->lo);
}

typedef struct frame {
    double x0, y0, x1, y1;  /* plotting area: left, top, right, bottom */
} frame;

static double px(const kt_plot *p, const frame *fr, double x) {
    return fr->x0 + frac(&p->ax[0], x) * (fr->x1 - fr->x0);
}

static double py(const kt_plot *p, const frame *fr, double y) {
    return fr->y1 - frac(&p->ax[1], y) * (fr->y1 - fr->y0);
}

/* A number for a tick label or tooltip: 3 significant digits, k/M/G above 10^4. */
static void fmt_num(double v, char *buf, size_t len) {
    double a = fabs(v);
    if (a >= 1e10)
        snprintf(buf, len, "%.3gG", v / 1e9);
    else if (a >= 1e7)
        snprintf(buf, len, "%.3gM", v / 1e6);
    else if (a >= 1e4)
        snprintf(buf, len, "%.3gk", v / 1e3);
    else
        snprintf(buf, len, "%.3g", v);
}

/* Writes a decade label: "1", "10", "100", "1000", then 10 to the power. */
static void decade_label(FILE *f, int e) {
    if (e >= -2 && e <= 3) {
        char b[16];
        snprintf(b, sizeof b, "%g", pow(10, e));
        fputs(b, f);
    } else {
        fprintf(f, "10<tspan dy=\"-6\" font-size=\"9\">%d</tspan>", e);
    }
}

/* Ticks and grid of one axis. */
static void write_axis(const kt_plot *p, const frame *fr, int which, FILE *f) {
    const axis *a = &p->ax[which];
    fprintf(f, "<g class=\"kt-axis kt-%s\" font-size=\"11\" fill=\"#333\">\n", which ? "y" : "x");
    if (a->scale == KT_PLOT_LOG) {
        int l = (int)lround(log10(a->lo)), h = (int)lround(log10(a->hi));
        int every = (h - l) > 12 ? 2 : 1; /* labels on every decade, or every other */
        for (int e = l; e <= h; e++) {
            for (int m = 1; m <= 9 && (m == 1 || e < h); m++) {
                double v = m * pow(10, e), c = which ? py(p, fr, v) : px(p, fr, v);
                int major = m == 1;
                if (h - l > 8 && !major && m != 5) continue;
                if (which)
                    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"%s\" stroke-width=\"%s\"/>\n",
                            fr->x0, c, fr->x1, c, major ? "#d0d0d0" : "#eeeeee",
                            major ? "1" : "0.6");
                else
                    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                               "stroke=\"%s\" stroke-width=\"%s\"/>\n",
                            c, fr->y0, c, fr->y1, major ? "#d0d0d0" : "#eeeeee",
                            major ? "1" : "0.6");
                if (!major || (e - l) % every) continue;
                if (which)
                    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", fr->x0 - 6,
                            c + 4);
                else
                    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", c,
                            fr->y1 + 16);
                decade_label(f, e);
                fputs("</text>\n", f);
            }
        }
    } else {
        double span = a->hi - a->lo, step = pow(10, floor(log10(span)));
        if (span / step < 3) step /= 5;
        else if (span / step < 6) step /= 2;
        for (double v = a->lo; v <= a->hi + step * 1e-9; v += step) {
            double c = which ? py(p, fr, v) : px(p, fr, v);
            char b[32];
            fmt_num(fabs(v) < step * 1e-9 ? 0 : v, b, sizeof b);
            if (which)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#e0e0e0\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                           "text-anchor=\"end\">%s</text>\n",
                        fr->x0, c, fr->x1, c, fr->x0 - 6, c + 4, b);
            else
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                           "stroke=\"#e0e0e0\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
                           "text-anchor=\"middle\">%s</text>\n",
                        c, fr->y0, c, fr->y1, c, fr->y1 + 16, b);
        }
    }
    /* the axis label */
    if (which) {
        double cy = (fr->y0 + fr->y1) / 2;
        fprintf(f, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                   "transform=\"rotate(-90 14 %.1f)\">",
                cy, cy);
    } else {
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\">",
                (fr->x0 + fr->x1) / 2, fr->y1 + 36);
    }
    kt_plot_escape(f, a->label);
    fputs("</text>\n</g>\n", f);
}

/* One series: its path (split at gaps) and markers with tooltips. */
static void write_series(const kt_plot *p, const frame *fr, size_t si, FILE *f) {
    const series *s = &p->s[si];
    size_t valid = 0, clipped = 0;
    for (size_t i = 0; i < s->n; i++) {
        int ok = usable(&p->ax[0], s->x[i]) && usable(&p->ax[1], s->y[i]);
        valid += ok;
        clipped += ok && (s->y[i] < p->ax[1].lo * (1 - 1e-9) || s->x[i] < p->ax[0].lo * (1 - 1e-9));
    }
    fprintf(f, "<g class=\"%s\" data-name=\"", (s->style & KT_PLOT_BAND) ? "kt-band" : "kt-series");
    kt_plot_escape(f, s->name);
    fprintf(f, "\" data-points=\"%zu\"", valid);
    if (clipped) fprintf(f, " data-clipped=\"%zu\"", clipped);
    fputs(">\n", f);
    if (s->style & (KT_PLOT_LINE | KT_PLOT_BAND)) {
        fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-linejoin=\"round\" "
                   "stroke-linecap=\"round\" %s d=\"",
                s->color,
                (s->style & KT_PLOT_BAND) ? "stroke-width=\"9\" stroke-opacity=\"0.16\""
                : (s->style & KT_PLOT_DASHED) ? "stroke-width=\"1.5\" stroke-dasharray=\"5 3\""
                                              : "stroke-width=\"1.5\"");
        int pen = 0;
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(&p->ax[0], s->x[i]) || !usable(&p->ax[1], s->y[i])) {
                pen = 0;
                continue;
            }
            fprintf(f, "%s%.1f %.1f", pen ? " L" : (i ? " M" : "M"), px(p, fr, s->x[i]),
                    py(p, fr, s->y[i]));
            pen = 1;
        }
        fputs("\"/>\n", f);
    }
    if (s->style & KT_PLOT_MARKERS) {
        for (size_t i = 0; i < s->n; i++) {
            if (!usable(&p->ax[0], s->x[i]) || !usable(&p->ax[1], s->y[i])) continue;
            char bx[32], by[32];
            fmt_num(s->x[i], bx, sizeof bx);
            fmt_num(s->y[i], by, sizeof by);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\" stroke=\"%s\" "
                       "stroke-width=\"1.2\"%s><title>",
                    px(p, fr, s->x[i]), py(p, fr, s->y[i]), s->emph[i] ? "3.2" : "2.4",
                    s->emph[i] ? s->color : "#ffffff", s->color,
                    s->emph[i] ? " class=\"kt-emph\"" : "");
            kt_plot_escape(f, s->name);
            fputs(": ", f);
            kt_plot_escape(f, p->ax[0].name);
            fprintf(f, "=%s, ", bx);
            kt_plot_escape(f, p->ax[1].name);
            fprintf(f, " %s%s</title></circle>\n", by, s->emph[i] ? " (chosen)" : "");
        }
    }
    fputs("</g>\n", f);
}

static void write_refs(const kt_plot *p, const frame *fr, FILE *f) {
    double last_label = -1e9;
    for (size_t i = 0; i < p->nvl; i++) {
        const refline *r = &p->vl[i];
        if (!usable(&p->ax[0], r->v) || r->v < p->ax[0].lo || r->v > p->ax[0].hi) continue;
        double x = px(p, fr, r->v);
        fprintf(f, "<g class=\"kt-marker\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\" stroke=\"#888\" stroke-width=\"1\" stroke-dasharray=\"2 3\"/>",
                x, fr->y0, x, fr->y1);
        /* a label only where it does not collide with the previous one */
        if (r->label[0] && x - last_label > 14) {
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"#666\" "
                       "text-anchor=\"middle\">",
                    x, fr->y0 + 10);
            kt_plot_escape(f, r->label);
            fputs("</text>", f);
            last_label = x;
        }
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"6\" height=\"%.1f\" "
                   "fill=\"transparent\"><title>",
                x - 3, fr->y0, fr->y1 - fr->y0);
        kt_plot_escape(f, r->tooltip);
        fputs("</title></rect></g>\n", f);
    }
    for (size_t i = 0; i < p->nhl; i++) {
        const refline *r = &p->hl[i];
        if (!usable(&p->ax[1], r->v)) continue;
        double y = py(p, fr, r->v);
        fprintf(f, "<g class=\"kt-limit\" data-name=\"");
        kt_plot_escape(f, r->label);
        fprintf(f, "\"><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" "
                   "stroke-width=\"1.4\" stroke-dasharray=\"7 4\"><title>",
                fr->x0, y, fr->x1, y);
        kt_plot_escape(f, r->tooltip);
        /* the label above the line, or below it when the line runs along the top */
        fprintf(f, "</title></line><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" "
                   "fill=\"#c0392b\" text-anchor=\"end\">",
                fr->x1 - 4, y - 4 < fr->y0 + 10 ? y + 13 : y - 4);
        kt_plot_escape(f, r->label);
        fputs("</text></g>\n", f);
    }
}

static void write_legend(const kt_plot *p, const frame *fr, FILE *f) {
    double x = fr->x1 + 14, y = fr->y0 + 4;
    fputs("<g class=\"kt-legend\" font-size=\"11\" fill=\"#222\">\n", f);
    /* bands first: they explain the highlight */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < p->ns; i++) {
            const series *s = &p->s[i];
            if ((s->style & KT_PLOT_BAND) ? pass != 0 : pass != 1) continue;
            if (s->style & KT_PLOT_BAND)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                           "stroke-width=\"9\" stroke-opacity=\"0.16\" "
                           "stroke-linecap=\"round\"/>",
                        x + 4, y, x + 22, y, s->color);
            else
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                           "stroke-width=\"1.5\"%s/><circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\" "
                           "fill=\"%s\"/>",
                        x, y, x + 26, y, s->color,
                        (s->style & KT_PLOT_DASHED) ? " stroke-dasharray=\"5 3\"" : "", x + 13,
                        y, s->color);
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 32, y + 4);
            kt_plot_escape(f, s->name);
            fputs("</text>\n", f);
            y += 16;
        }
    }
    if (p->nhl) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" "
                   "stroke-dasharray=\"7 4\"/><text x=\"%.1f\" y=\"%.1f\">limit</text>\n",
                x, y, x + 26, y, x + 32, y + 4);
        y += 16;
    }
    if (p->nvl)
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                   "stroke-dasharray=\"2 3\"/><text x=\"%.1f\" y=\"%.1f\">crossover</text>\n",
                x + 13, y - 6, x + 13, y + 6, x + 32, y + 4);
    fputs("</g>\n", f);
}

int kt_plot_write(const kt_plot *p, FILE *f, int standalone) {
    if (!p || !f) return -1;
    /* fit the axes to the data and the reference lines */
    kt_plot fitted = *p;
    double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
    for (size_t i = 0; i < p->ns; i++)
        for (size_t k = 0; k < p->s[i].n; k++) {
            double v[2] = {p->s[i].x[k], p->s[i].y[k]};
            if (!usable(&p->ax[0], v[0]) || !usable(&p->ax[1], v[1])) continue;
            for (int a = 0; a < 2; a++) lo[a] = fmin(lo[a], v[a]), hi[a] = fmax(hi[a], v[a]);
        }
    if (!(lo[0] <= hi[0])) return -1;
    for (size_t i = 0; i < p->nhl; i++)
        if (usable(&p->ax[1], p->hl[i].v))
            lo[1] = fmin(lo[1], p->hl[i].v), hi[1] = fmax(hi[1], p->hl[i].v);
    for (int a = 0; a < 2; a++) {
        const axis *ax = &p->ax[a];
        if (ax->scale == KT_PLOT_LOG && ax->span > 0 && hi[a] / lo[a] > pow(10, ax->span)) {
            double floor_v = hi[a] / pow(10, ax->span);
            for (size_t i = 0; i < p->ns; i++) /* keep the band in view */
                for (size_t k = 0; (p->s[i].style & KT_PLOT_BAND) && k < p->s[i].n; k++) {
                    double v = a ? p->s[i].y[k] : p->s[i].x[k];
                    if (usable(ax, v) && v < floor_v) floor_v = v;
                }
            lo[a] = floor_v;
        }
        if (!fit(&fitted.ax[a], lo[a], hi[a])) return -1;
    }
    const kt_plot *q = &fitted;
    frame fr = {M_LEFT, M_TOP, q->w - M_RIGHT, q->h - M_BOTTOM};

    if (standalone) fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"kt-plot\" id=\"");
    kt_plot_escape(f, q->id);
    fprintf(f, "\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" role=\"img\">\n",
            q->w, q->h, q->w, q->h);
    fputs("<title>", f);
    kt_plot_escape(f, q->title);
    fprintf(f, "</title>\n<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", q->w, q->h);
    fprintf(f, "<defs><clipPath id=\"");
    kt_plot_escape(f, q->id);
    fprintf(f, "-area\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
               "</clipPath></defs>\n",
            fr.x0 - 4, fr.y0 - 4, fr.x1 - fr.x0 + 8, fr.y1 - fr.y0 + 8);
    fprintf(f, "<text x=\"%.1f\" y=\"20\" font-size=\"14\" font-weight=\"bold\" "
               "text-anchor=\"middle\">",
            (fr.x0 + fr.x1) / 2);
    kt_plot_escape(f, q->title);
    fputs("</text>\n", f);
    write_axis(q, &fr, 0, f);
    write_axis(q, &fr, 1, f);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
               "stroke=\"#666\"/>\n",
            fr.x0, fr.y0, fr.x1 - fr.x0, fr.y1 - fr.y0);
    fputs("<g clip-path=\"url(#", f);
    kt_plot_escape(f, q->id);
    fputs("-area)\">\n", f);
    for (size_t i = 0; i < q->ns; i++)
        if (q->s[i].style & KT_PLOT_BAND) write_series(q, &fr, i, f);
    write_refs(q, &fr, f);
    for (size_t i = 0; i < q->ns; i++)
        if (!(q->s[i].style & KT_PLOT_BAND)) write_series(q, &fr, i, f);
    fputs("</g>\n", f);
    write_legend(q, &fr, f);
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
