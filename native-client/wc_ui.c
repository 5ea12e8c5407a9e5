/*
 * wc_ui.c - the two-pane terminal window, on ncursesw.
 *
 * I/O adapter; see wc_ui.h. The layout, from the top: the peer's text,
 * one status line in reverse video, the user's box (up to WC_UI_BOX_ROWS).
 * Private lines of the peer's text are drawn in colour (bold too when
 * received); on a terminal without colours, in bold.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include "wc_ui.h"

#include <curses.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "wc_text.h"

/* Milliseconds ncurses waits after ESC for the rest of a key sequence. */
#define WC_UI_ESC_DELAY_MS 25

/* Below this size the window only says it is too small. */
#define WC_UI_MIN_ROWS 4
#define WC_UI_MIN_COLS 16

/* The colour pair of private lines. */
#define WC_UI_PAIR_PRIVATE 1

struct wc_ui {
    int scroll;   /* top pane rows scrolled up from the bottom */
    int top_rows; /* rows of the top pane at the last draw */
    int total;    /* rows of the peer's text at the last draw */
    int width;    /* columns at the last draw */
    int mouse;
    int colors; /* the private lines' colour pair is set up */
};

int wc_ui_start(struct wc_ui **out, int mouse)
{
    struct wc_ui *ui = calloc(1, sizeof(*ui));

    if (ui == NULL)
        return -1;
    if (newterm(NULL, stdout, stdin) == NULL) {
        free(ui);
        return -1;
    }
    set_escdelay(WC_UI_ESC_DELAY_MS);
    /* raw: Ctrl-C, Ctrl-D and Ctrl-U arrive as keys, to quit and clear. */
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    if (has_colors()) {
        start_color();
        use_default_colors();
        /* Magenta on the terminal's own background: apart from the
         * reverse-video status line and from plain text. */
        ui->colors = init_pair(WC_UI_PAIR_PRIVATE, COLOR_MAGENTA, -1) == OK;
    }
    if (mouse) {
        mousemask(BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
        mouseinterval(0);
    }
    ui->mouse = mouse;
    ui->top_rows = 1;
    *out = ui;
    return 0;
}

void wc_ui_stop(struct wc_ui *ui)
{
    if (ui == NULL)
        return;
    if (ui->mouse)
        mousemask(0, NULL);
    endwin();
    free(ui);
}

static void scroll_by(struct wc_ui *ui, int rows)
{
    ui->scroll += rows;
    if (ui->scroll < 0)
        ui->scroll = 0;
    /* The upper limit depends on the text; wc_ui_draw clamps it. */
}

int wc_ui_read(struct wc_ui *ui, struct wc_ui_input *in)
{
    wint_t ch;
    int rc;
    int page = ui->top_rows > 2 ? ui->top_rows - 1 : 1;

    memset(in, 0, sizeof(*in));
    rc = get_wch(&ch);
    if (rc == ERR)
        return 0;
    if (rc == KEY_CODE_YES) {
        switch (ch) {
        case KEY_BACKSPACE:
            in->key = WC_UI_BACKSPACE;
            break;
        case KEY_ENTER:
            in->key = WC_UI_ENTER;
            break;
        case KEY_PPAGE:
            scroll_by(ui, page);
            in->key = WC_UI_VIEW;
            break;
        case KEY_NPAGE:
            scroll_by(ui, -page);
            in->key = WC_UI_VIEW;
            break;
        case KEY_UP:
            scroll_by(ui, 1);
            in->key = WC_UI_VIEW;
            break;
        case KEY_DOWN:
            scroll_by(ui, -1);
            in->key = WC_UI_VIEW;
            break;
        case KEY_HOME:
            ui->scroll = 1 << 30;
            in->key = WC_UI_VIEW;
            break;
        case KEY_END:
            ui->scroll = 0;
            in->key = WC_UI_VIEW;
            break;
        case KEY_MOUSE: {
            MEVENT ev;
            if (getmouse(&ev) == OK) {
                if (ev.bstate & BUTTON4_PRESSED)
                    scroll_by(ui, WC_UI_WHEEL_ROWS);
                else if (ev.bstate & BUTTON5_PRESSED)
                    scroll_by(ui, -WC_UI_WHEEL_ROWS);
            }
            in->key = WC_UI_VIEW;
            break;
        }
        default: /* KEY_RESIZE and keys without a meaning here */
            in->key = WC_UI_VIEW;
            break;
        }
        return 1;
    }
    switch (ch) {
    case 3: /* Ctrl-C */
    case 4: /* Ctrl-D */
        in->key = WC_UI_QUIT;
        break;
    case 21: /* Ctrl-U */
        in->key = WC_UI_CLEAR;
        break;
    case '\r':
    case '\n':
        in->key = WC_UI_ENTER;
        break;
    case 8:
    case 127:
        in->key = WC_UI_BACKSPACE;
        break;
    case 12: /* Ctrl-L */
        clearok(curscr, TRUE);
        in->key = WC_UI_VIEW;
        break;
    default:
        if (ch == '\t' || (ch >= 0x20 && ch != 0x7F && !(ch >= 0x80 && ch < 0xA0))) {
            in->key = WC_UI_TEXT;
            in->len = wc_utf8_encode((uint32_t)ch, in->text);
            in->text[in->len] = '\0';
        } else {
            in->key = WC_UI_VIEW; /* other control keys: ignored */
        }
        break;
    }
    return 1;
}

/* Rows text takes at width. */
static int count_rows(const char *s, size_t len, int width)
{
    size_t pos = 0;
    int rows = 0;

    while (pos < len) {
        pos = wc_text_row(s, len, pos, width, NULL, 0, NULL);
        rows++;
    }
    return rows;
}

/* The attributes for a wc_ui_look. */
static attr_t look_attr(const struct wc_ui *ui, int look)
{
    attr_t pair = ui->colors ? COLOR_PAIR(WC_UI_PAIR_PRIVATE) : A_BOLD;

    switch (look) {
    case WC_UI_LOOK_PRIVATE_IN:
        return pair | A_BOLD;
    case WC_UI_LOOK_PRIVATE_OUT:
        return pair;
    default:
        return A_NORMAL;
    }
}

/* Draw rows [first, first + nrows) of text at screen rows y0.. ; returns the
 * column after the last character drawn on the last row drawn. look (may
 * be NULL) is asked once per completed line on screen, for its attributes;
 * a last line without its line end is drawn plain. */
static int draw_rows(const struct wc_ui *ui, const char *s, size_t len, int width, int first,
                     int y0, int nrows, wchar_t *buf, size_t buf_cap,
                     int (*look)(const char *line, size_t len))
{
    size_t pos = 0, line = 0, looked = SIZE_MAX;
    int row = 0, cols = 0;
    attr_t attr = A_NORMAL;

    while (pos < len && row < first + nrows) {
        if (pos == 0 || s[pos - 1] == '\n')
            line = pos; /* a row that starts a line (others wrap one) */
        pos = wc_text_row(s, len, pos, width, buf, buf_cap, &cols);
        if (row >= first) {
            if (look != NULL && looked != line) {
                const char *nl = memchr(s + line, '\n', len - line);
                attr = nl != NULL ? look_attr(ui, look(s + line, (size_t)(nl - (s + line))))
                                  : A_NORMAL;
                looked = line;
            }
            move(y0 + row - first, 0);
            if (attr != A_NORMAL)
                attron(attr);
            addwstr(buf);
            if (attr != A_NORMAL)
                attroff(attr);
            clrtoeol();
        }
        row++;
    }
    return cols;
}

void wc_ui_draw(struct wc_ui *ui, const char *peer, size_t peer_len, const char *box,
                size_t box_len, const char *status, int (*look)(const char *line, size_t len))
{
    int h, w, box_rows, top_rows, total, first, y, cols, nrows;
    size_t buf_cap;
    wchar_t *buf;

    getmaxyx(stdscr, h, w);
    erase();
    if (h < WC_UI_MIN_ROWS || w < WC_UI_MIN_COLS) {
        mvaddstr(0, 0, "window too small");
        refresh();
        return;
    }
    /* Room for a row of narrow characters, each with a combining mark. */
    buf_cap = (size_t)w * 2 + 2;
    buf = malloc(buf_cap * sizeof(*buf));
    if (buf == NULL)
        return;
    box_rows = h >= 12 ? WC_UI_BOX_ROWS : (h >= 8 ? 2 : 1);
    top_rows = h - box_rows - 1;
    ui->top_rows = top_rows;

    /* The peer's text, bottom-aligned once it fills the pane. */
    total = count_rows(peer, peer_len, w);
    /* Scrolled back, the view stays on the same text while more arrives. */
    if (ui->scroll > 0 && w == ui->width && total > ui->total)
        ui->scroll += total - ui->total;
    ui->total = total;
    ui->width = w;
    if (ui->scroll > total - top_rows)
        ui->scroll = total - top_rows > 0 ? total - top_rows : 0;
    first = total - top_rows - ui->scroll;
    if (first < 0)
        first = 0;
    draw_rows(ui, peer, peer_len, w, first, 0, top_rows, buf, buf_cap, look);

    /* The status line. */
    attron(A_REVERSE);
    move(top_rows, 0);
    for (y = 0; y < w; y++)
        addch(' ');
    {
        const char *hint = ui->scroll > 0 ? "  [scrolled: End to follow]" : "";
        const char *keys = "PgUp/PgDn scroll  ^U clear  ^C quit";
        size_t sl = strlen(status), hl = strlen(hint);
        char *line = malloc(sl + hl + 1);
        int kl = (int)strlen(keys);
        if (line != NULL) {
            memcpy(line, status, sl);
            memcpy(line + sl, hint, hl + 1);
            wc_text_row(line, sl + hl, 0, w, buf, buf_cap, &cols);
            mvaddwstr(top_rows, 0, buf);
            if (cols + kl + 2 <= w)
                mvaddstr(top_rows, w - kl - 1, keys);
            free(line);
        }
    }
    attroff(A_REVERSE);

    /* The box: its last rows, the cursor after its last character. */
    total = count_rows(box, box_len, w);
    if (box_len == 0 || box[box_len - 1] == '\n')
        total++; /* the cursor sits on a fresh row */
    first = total - box_rows > 0 ? total - box_rows : 0;
    nrows = total - first;
    cols = draw_rows(ui, box, box_len, w, first, top_rows + 1, nrows, buf, buf_cap, NULL);
    if (box_len == 0 || box[box_len - 1] == '\n')
        cols = 0;
    move(top_rows + nrows, cols < w ? cols : w - 1);
    free(buf);
    refresh();
}

void wc_ui_beep(struct wc_ui *ui)
{
    (void)ui;
    beep();
}
