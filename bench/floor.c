/*
 * floor: the least work any edition compiler must do, to compare editionc with.
 *
 *   floor --extract PACK...      writes the raw work items of the packs to stdout
 *   floor YAML... -- WORK        parses every YAML file with libyaml (events only,
 *                                no tree) and compresses every work item with zlib
 *                                at the parameters editionc uses
 *
 * A work item is a section's raw bytes (deflated as zlib, level 9, window 15)
 * or one screen's JSON (deflated as gzip, window 31), exactly what editionc
 * compresses for the same output. The timed run reads its inputs from files,
 * like editionc, and is timed as a whole process by bench/compile.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <zlib.h>

#include "pack.h"

static int extract(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		pack *p;
		strbuf err = STRBUF_INIT, raw = STRBUF_INIT;
		if (pack_open_file(argv[i], NULL, &p, &err) < 0) {
			fprintf(stderr, "floor: %s: %s\n", argv[i], err.buf);
			return 1;
		}
		for (int s = 1; s < PACK_SECTION_END; s++) {
			strbuf_reset(&raw);
			strbuf_add_u32(&raw, pack_count(p, s));
			for (size_t k = 0; k < pack_count(p, s); k++) {
				const void *d;
				size_t len;
				const char *name = pack_entry(p, s, k, &d, &len);
				strbuf_add_u32(&raw, strlen(name));
				strbuf_adds(&raw, name);
				strbuf_add_u32(&raw, len);
				strbuf_add(&raw, d, len);
				if (s == PACK_SCREENS) {          /* the screen's gzip body */
					putchar(2);
					fwrite(&(uint32_t){ (uint32_t)len }, 4, 1, stdout);
					fwrite(d, 1, len, stdout);
				}
			}
			if (s == PACK_SCREENS_GZ)
				continue;                 /* stored, not compressed */
			putchar(1);
			fwrite(&(uint32_t){ (uint32_t)raw.len }, 4, 1, stdout);
			fwrite(raw.buf, 1, raw.len, stdout);
		}
		pack_free(p);
		strbuf_release(&raw);
		strbuf_release(&err);
	}
	return 0;
}

static size_t parse_yaml(const char *path)
{
	strbuf sb = STRBUF_INIT;
	if (strbuf_read_file(&sb, path, 64u << 20) < 0) {
		fprintf(stderr, "floor: cannot read '%s'\n", path);
		exit(1);
	}
	yaml_parser_t parser;
	yaml_event_t ev;
	size_t events = 0;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)sb.buf, sb.len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "floor: '%s': %s\n", path, parser.problem);
			exit(1);
		}
		int done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		events++;
		if (done)
			break;
	}
	yaml_parser_delete(&parser);
	strbuf_release(&sb);
	return events;
}

static size_t deflate_item(const unsigned char *d, size_t len, int window)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY);
	uLong bound = deflateBound(&z, len) + 32;
	unsigned char *out = malloc(bound);
	z.next_in = (Bytef *)d;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	deflate(&z, Z_FINISH);
	size_t n = bound - z.avail_out;
	deflateEnd(&z);
	free(out);
	return n;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--extract"))
		return extract(argc, argv);
	int i = 1;
	size_t events = 0, out = 0;
	for (; i < argc && strcmp(argv[i], "--"); i++)
		events += parse_yaml(argv[i]);
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: floor YAML... -- WORK | floor --extract PACK...\n");
		return 2;
	}
	strbuf work = STRBUF_INIT;
	if (strbuf_read_file(&work, argv[i + 1], 1u << 30) < 0) {
		fprintf(stderr, "floor: cannot read '%s'\n", argv[i + 1]);
		return 1;
	}
	const unsigned char *w = (const unsigned char *)work.buf;
	for (size_t at = 0; at + 5 <= work.len;) {
		uint32_t len;
		memcpy(&len, w + at + 1, 4);
		out += deflate_item(w + at + 5, len, w[at] == 2 ? 31 : 15);
		at += 5 + len;
	}
	printf("%zu events, %zu compressed bytes\n", events, out);
	strbuf_release(&work);
	return 0;
}
