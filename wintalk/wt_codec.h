/*
 * wt_codec.h - the WINTALK wire protocol: handshake, frames, sender's rule.
 *
 * Pure: no sockets, no event loop, no clock, no logging. Bytes go in, frames
 * come out; frames go in, bytes come out. Shared by the gateway and the
 * native client, so there is one implementation of the protocol.
 *
 * The protocol, after a 12-byte handshake from the listening side, is a
 * stream of frames with no separator between them:
 *
 *     A<n>:<text>    append <text> to what the receiver shows of the sender
 *     R<n>:<text>    replace all of it with <text> ("R0:" clears)
 *
 * <n> is decimal and counts UTF-16 code units of <text> (what .NET's
 * String.Length returns), not bytes and not code points. The text travels
 * as UTF-8 without a BOM. Any command letter other than 'R' appends.
 *
 * Errors: every function that can fail returns 0 or a negative code from
 * enum wt_status; wt_strerror() names each one.
 */
#ifndef WT_CODEC_H
#define WT_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* The listening side sends exactly these 12 bytes when it accepts. */
#define WT_HANDSHAKE     "WINTALK .NET"
#define WT_HANDSHAKE_LEN 12

/*
 * Twelve characters a listener sends right after the handshake, in the same
 * write. Why: one widespread port of the original caller reads a second time
 * after the handshake, up to 12 characters with a 5 s timeout, and throws
 * them away; with nothing to read it gives up, and anything meaningful sent
 * there would be lost. Four empty replaces are what that caller can lose
 * safely, and to every other caller they are four no-op "clear" frames on
 * an empty pane. They must leave in the same write as the handshake: split
 * across two TCP segments they break that caller's reader.
 */
#define WT_PRIMING     "R0:R0:R0:R0:"
#define WT_PRIMING_LEN 12

/* Default cap on one frame's length, in UTF-16 units: the original text
 * box's limit. A larger <n> is a protocol error, not an allocation. */
#define WT_FRAME_UNITS_DEFAULT 65536u

/* Hard ceiling for any configured cap (keeps byte arithmetic far from
 * overflow: a unit is at most 3 bytes of UTF-8). */
#define WT_FRAME_UNITS_CEILING (16u * 1024u * 1024u)

/* Characters allowed before ':' (the letter and the digits). The original
 * reader keeps a letter and 18 digits and ends the talk at the 20th. */
#define WT_HEADER_MAX 19

/* Room for an encoded header: letter, up to 18 digits, ':', NUL. */
#define WT_HEADER_BUF 21

/* Bytes of UTF-8 that one UTF-16 unit can need at most (U+FFFD and other
 * BMP characters take 3 bytes for 1 unit; astral ones 4 bytes for 2). */
#define WT_UTF8_PER_UNIT_MAX 3

enum wt_status {
    WT_OK = 0,
    WT_EAGAIN = -1,   /* decoder: need more bytes; not a failure */
    WT_ENOMEM = -2,   /* allocation failed */
    WT_EINVAL = -3,   /* bad argument (NULL, cap out of range, ...) */
    WT_EHEADER = -4,  /* more than WT_HEADER_MAX characters before ':' */
    WT_ELETTER = -5,  /* command letter is ':' or not ASCII */
    WT_ELENGTH = -6,  /* length empty, negative, or not a decimal number */
    WT_ETOOBIG = -7,  /* length above the decoder's cap */
    WT_ESPLIT = -8,   /* length ends between the halves of a surrogate pair */
    WT_ENOSPACE = -9, /* encoder: output buffer too small */
    WT_EUTF8 = -10,   /* invalid UTF-8 (wt_utf8_next) */
};

/* A short English description of a wt_status code. Never NULL. */
const char *wt_strerror(int code);

enum wt_op {
    WT_OP_APPEND = 'A',
    WT_OP_REPLACE = 'R',
};

/*
 * One decoded frame. text is valid UTF-8 (invalid input bytes were replaced
 * by U+FFFD), NUL-terminated for convenience, len bytes long, and counts
 * units UTF-16 units, equal to the <n> of the header. letter is the command
 * letter as received ('A', 'R', or any other append letter).
 * text is borrowed from the decoder until its next feed, reset or free.
 */
struct wt_frame {
    enum wt_op op;
    char letter;
    const char *text;
    size_t len;
    size_t units;
};

/* A UTF-8 sequence in progress (the WHATWG decoder's state). Private. */
struct wt_utf8_state {
    uint32_t cp;
    uint8_t need;  /* continuation bytes still expected */
    uint8_t seen;  /* continuation bytes read */
    uint8_t lower; /* bounds of the next continuation byte */
    uint8_t upper;
};

enum wt_dec_state {
    WT_DEC_LETTER,  /* waiting for the command letter */
    WT_DEC_LENGTH,  /* reading the length up to ':' */
    WT_DEC_TEXT,    /* reading <units> UTF-16 units of text */
    WT_DEC_FAILED,  /* a protocol error happened; it sticks */
};

/*
 * Incremental frame decoder. State lives here between feeds; the text buffer
 * grows with need, never past WT_UTF8_PER_UNIT_MAX * cap bytes, and is
 * released after a large frame so idle peers hold little memory.
 * Treat the fields as private.
 */
struct wt_decoder {
    enum wt_dec_state state;
    int error;              /* the sticky error in WT_DEC_FAILED */
    uint32_t cap;           /* largest accepted <n>, in units */
    char letter;
    unsigned header_chars;  /* characters read after the letter */
    int saw_digit;
    int saw_sign;
    int trailing_space;     /* a space followed the digits */
    uint64_t length;        /* <n> being parsed */
    uint32_t units_left;    /* units still to read in this frame */
    struct wt_utf8_state utf8; /* UTF-8 sequence in progress */
    /* frame text */
    char *buf;
    size_t buf_len;
    size_t buf_cap;
};

/* Prepare a decoder. cap is the largest frame length in UTF-16 units, 0 for
 * WT_FRAME_UNITS_DEFAULT. Allocates nothing.
 * Returns WT_OK, or WT_EINVAL if d is NULL or cap > WT_FRAME_UNITS_CEILING. */
int wt_decoder_init(struct wt_decoder *d, uint32_t cap);

/* Release the decoder's buffer. The decoder may be initialised again. */
void wt_decoder_free(struct wt_decoder *d);

/* Forget any partial frame and clear a sticky error; keeps the cap. */
void wt_decoder_reset(struct wt_decoder *d);

/*
 * Feed bytes. Reads from data until one frame is complete or the bytes run
 * out, and stores in *consumed how many bytes it used (always set).
 * Returns:
 *   WT_OK      a frame is in *out; call again with data + *consumed for more.
 *   WT_EAGAIN  every byte was used and no frame is complete yet.
 *   WT_EHEADER, WT_ELETTER, WT_ELENGTH, WT_ETOOBIG, WT_ESPLIT
 *              the peer broke the protocol; the decoder stays failed and
 *              returns the same code until reset. The stream cannot be
 *              resynchronised: end the connection.
 *   WT_ENOMEM  the text buffer could not grow (also sticky).
 *   WT_EINVAL  a NULL argument.
 * The decoder never buffers more than one frame's text.
 */
int wt_decoder_feed(struct wt_decoder *d, const void *data, size_t len, size_t *consumed,
                    struct wt_frame *out);

/* Write "A<units>:" or "R<units>:" into buf (WT_HEADER_BUF bytes), NUL-
 * terminated. Returns the header's length (positive), never an error for a
 * valid op; a units value wider than 18 digits cannot occur for size_t texts
 * within WT_FRAME_UNITS_CEILING. */
int wt_frame_header(char buf[WT_HEADER_BUF], enum wt_op op, size_t units);

/*
 * Encode a whole frame for text (len bytes of valid UTF-8) into out (cap
 * bytes). Stores the frame's size in *out_len.
 * Returns WT_OK, WT_ENOSPACE if cap is too small (nothing useful written),
 * or WT_EINVAL. The caller is responsible for text being valid UTF-8; pass
 * untrusted bytes through wt_utf8_sanitize() first.
 */
int wt_frame_encode(char *out, size_t cap, size_t *out_len, enum wt_op op, const char *text,
                    size_t len);

/* Bytes needed to encode a frame of text (len bytes, valid UTF-8). */
size_t wt_frame_size(const char *text, size_t len);

/*
 * The sender's rule of the original programs, applied on every change of
 * the text box: if the text last sent is a prefix of the text now, the frame
 * is an append of the new tail; otherwise a replace of everything. Equal
 * texts give an empty append ("A0:"), as the original does; callers that
 * only send on change never see it.
 * Stores the op in *op and the offset in now where the frame's text starts
 * in *tail (0 for a replace). Both texts are valid UTF-8; the comparison is
 * bytewise, which for valid UTF-8 is the same as comparing UTF-16 units.
 * Returns WT_OK or WT_EINVAL.
 */
int wt_sender_rule(const char *prev, size_t prev_len, const char *now, size_t now_len,
                   enum wt_op *op, size_t *tail);

/*
 * Convenience around wt_sender_rule: allocate and encode the frame that
 * takes a peer from prev to now. On WT_OK, *frame is a NUL-terminated buffer
 * of *frame_len bytes that the caller frees with free().
 * Returns WT_OK, WT_ENOMEM or WT_EINVAL.
 */
int wt_sender_frame(const char *prev, size_t prev_len, const char *now, size_t now_len,
                    char **frame, size_t *frame_len);

/* ---- UTF-8 and UTF-16 helpers ---- */

/* Number of UTF-16 units in len bytes of valid UTF-8 (a 4-byte sequence is
 * two units, any other sequence one). On invalid input the count is that of
 * the U+FFFD-substituted text, as wt_utf8_sanitize would produce. */
size_t wt_utf16_units(const char *s, size_t len);

/* Nonzero if s (len bytes) is valid UTF-8 (no surrogates, no overlongs,
 * nothing above U+10FFFF). */
int wt_utf8_valid(const char *s, size_t len);

/*
 * Copy len bytes from in to out as valid UTF-8, replacing each maximal
 * invalid subsequence with U+FFFD (the WHATWG decoder's rule), and stores
 * the output's length in *out_len. out must hold WT_UTF8_PER_UNIT_MAX * len
 * bytes at most; out_cap says how much it holds. Returns WT_OK, WT_ENOSPACE
 * or WT_EINVAL. A sequence cut off at the end of in becomes one U+FFFD.
 */
int wt_utf8_sanitize(const char *in, size_t len, char *out, size_t out_cap, size_t *out_len);

/*
 * Decode the character at the start of s (len bytes), by the same rules as
 * the frame decoder, wt_utf8_valid and wt_utf8_sanitize, so that every part
 * agrees on what valid UTF-8 is. For walking a text one character at a time:
 * advance by *used after every call, whatever it returns.
 * Returns:
 *   WT_OK     *cp is the character, *used its length in bytes (1 to 4).
 *   WT_EUTF8  s starts with a maximal invalid subsequence of *used bytes
 *             (1 to 3): an overlong form, a surrogate, a code point above
 *             U+10FFFF, a stray continuation byte, a byte C0, C1 or F5..FF,
 *             or a sequence cut off by the end of s. *cp is U+FFFD, what
 *             wt_utf8_sanitize puts in its place.
 *   WT_EINVAL s, cp or used is NULL, or len is 0 (*used is then 0 if used
 *             is not NULL).
 * Reads at most 4 bytes of s; allocates nothing.
 */
int wt_utf8_next(const char *s, size_t len, uint32_t *cp, size_t *used);

/* Length in bytes of the longest prefix of s (valid UTF-8, len bytes) that
 * holds at most max_units UTF-16 units and does not split a character. */
size_t wt_utf8_prefix_units(const char *s, size_t len, size_t max_units);

#endif /* WT_CODEC_H */
