/*
 * wc_ui.h - the WinTalk window in a terminal (ncursesw).
 *
 * I/O adapter: this is where the client touches the terminal. It knows
 * nothing of WINTALK or frames: it draws two texts (the peer's, on top, and
 * the user's box, below) and a status line, and turns keys into edits.
 * Scrolling the top pane (PgUp/PgDn, Up/Down, Home/End, the mouse wheel) and
 * resizing are handled inside. Every character of text goes through
 * wc_text.h on the way to the screen, so nothing reaches the terminal as a
 * command.
 */
#ifndef WC_UI_H
#define WC_UI_H

#include <stddef.h>

/* Rows of the text box at the bottom, at most. */
#define WC_UI_BOX_ROWS 4

/* Rows the mouse wheel scrolls per notch. */
#define WC_UI_WHEEL_ROWS 3

enum wc_ui_key {
    WC_UI_NONE, /* nothing more to read now */
    WC_UI_TEXT, /* text was typed: see text/len */
    WC_UI_BACKSPACE,
    WC_UI_ENTER,
    WC_UI_CLEAR, /* Ctrl-U */
    WC_UI_QUIT,  /* Ctrl-C, Ctrl-D */
    WC_UI_VIEW,  /* the view changed (scroll, resize, Ctrl-L): redraw */
};

struct wc_ui_input {
    enum wc_ui_key key;
    char text[8]; /* UTF-8 of one typed character, NUL-terminated */
    size_t len;
};

struct wc_ui; /* private */

/* Take over the terminal. mouse: let the wheel scroll. On success *out is
 * the UI, freed by wc_ui_stop(). Returns 0, or -1 (no terminal; nothing to
 * undo). */
int wc_ui_start(struct wc_ui **out, int mouse);

/* Give the terminal back as it was, and free ui. NULL is fine. */
void wc_ui_stop(struct wc_ui *ui);

/* Read one input without waiting. Returns 1 with *in filled, or 0 when
 * nothing is waiting (in->key is WC_UI_NONE). */
int wc_ui_read(struct wc_ui *ui, struct wc_ui_input *in);

/* How a line of the peer's text is shown. */
enum wc_ui_look {
    WC_UI_LOOK_PLAIN = 0,
    WC_UI_LOOK_PRIVATE_IN,  /* a private message to the user: stands out most */
    WC_UI_LOOK_PRIVATE_OUT, /* the user's own private message, confirmed */
};

/*
 * Draw the window: peer (peer_len bytes of UTF-8) in the top pane, scrolled
 * as the user left it; box (box_len bytes) at the bottom with the cursor at
 * its end; status (a NUL-terminated UTF-8 line) between them. All borrowed
 * for the call only. look, when not NULL, says how to show each line of
 * peer that is on screen: it gets the line (len bytes, without its "\n")
 * and returns a wc_ui_look. Only the attributes change: the characters
 * drawn are the same, through wc_text.h, whatever look says.
 */
void wc_ui_draw(struct wc_ui *ui, const char *peer, size_t peer_len, const char *box,
                size_t box_len, const char *status, int (*look)(const char *line, size_t len));

/* Ring the terminal's bell (a refused key). */
void wc_ui_beep(struct wc_ui *ui);

#endif /* WC_UI_H */
