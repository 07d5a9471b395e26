/*
 * model: the project as the compiler phases hand it forward.
 *
 *   read.c      project_load: every YAML file of an editions directory -> nodes
 *   resolve.c   project_resolve: extends chains merged, fragments expanded
 *   validate.c  validate_edition: the resolved tree against the XML Schemas in schemas/
 *               validate_products: products.yaml against schemas/products.xsd
 *   check.c     check_edition: meaning (references, reachability, bindings, Lua)
 *   policy.c    policy_edition: edition policies (care, english, private-banking, all)
 *   emit.c      emit_pack / emit_build: packs, manifest, atomic output
 *
 * A phase reads what earlier phases produced and reports into project->diag;
 * it never changes what an earlier phase produced, except resolve filling
 * edition->resolved. All memory is from project->arena.
 */
#ifndef MODEL_H
#define MODEL_H

#include <stddef.h>

#include "diag.h"
#include "node.h"

typedef struct edition {       /* public */
	const char *id;             /* "mass", or "personal" for editions/base/personal.yaml */
	const char *path;           /* "editions/mass.yaml" */
	node *doc;                  /* as written */
	node *resolved;             /* after project_resolve; NULL when resolution failed */
	int abstract;               /* a base: resolved and checked for structure only, never packed */
	const char **chain;         /* paths from this edition to its root base, chain[0] == path */
	size_t chain_len;
	const node *strings;        /* edition_strings' cache; NULL until first asked */
	int resolving;              /* project_resolve's cycle mark (0 idle, 1 in progress, 2 done) */
} edition;

typedef struct named_doc {     /* public */
	const char *name;           /* locale ("zh-CN"), fragment name, or flow script path ("flows/transfer.lua") */
	const char *path;           /* file path for messages */
	node *doc;                  /* YAML documents; NULL for Lua scripts */
	const char *text;           /* Lua script source; NULL for YAML */
	size_t len;
	const node *strings;        /* i18n only: flattened key -> scalar, cached by edition_strings */
	int checked;                /* scripts only: check_edition compiled it (1) or reported why not (-1) */
} named_doc;

typedef struct project {       /* public */
	arena *arena;
	diag_ctx *diag;
	const char *dir;            /* the editions directory as given */
	edition **editions;         /* concrete editions and bases, sorted by id */
	size_t n_editions;
	node *products;             /* products.yaml, or NULL */
	const char *products_path;
	named_doc *i18n;            /* i18n/<locale>.yaml */
	size_t n_i18n;
	named_doc *fragments;       /* fragments/<name>.yaml */
	size_t n_fragments;
	named_doc *scripts;         /* flows/<name>.lua */
	size_t n_scripts;
} project;

/* Limits enforced while reading; a file that passes one gets a clear error. */
#define READ_MAX_FILE_SIZE (64u << 20)   /* bytes per YAML file */
#define READ_MAX_DEPTH 256               /* nesting of maps and sequences */
#define READ_MAX_NODES 4000000           /* after alias expansion: stops alias bombs */

/* read.c */
project *project_new(void);
void project_free(project *p);
/* Loads every file of dir. Errors (missing dir, bad YAML) go to p->diag; returns -1 if dir cannot be read. */
int project_load(project *p, const char *dir);
/* Loads one YAML file (for tests and `check FILE`); NULL after reporting the error. */
node *read_yaml_file(project *p, const char *path);
node *read_yaml_text(project *p, const char *path, const char *text, size_t len);
edition *project_find(const project *p, const char *id);
const named_doc *project_script(const project *p, const char *name);

/*
 * resolve.c
 *
 * project_resolve fills every edition's resolved tree (and chain), base first:
 *   - maps merge deeply; a scalar, a replaced list, or a value of another kind
 *     keeps what it replaced in `overrides`; values copied from a base keep their
 *     position and have `inherited` set (every node of the copied subtree);
 *   - a list merges by id only when the edition's list is non-empty and every item
 *     of both lists is a map with a scalar `id`; otherwise it is replaced (so `[]`
 *     clears an inherited list). before:/after:/remove: are dropped from the result;
 *     before/after on an item that already exists moves it;
 *   - `edition`, `extends` and `abstract` are never inherited;
 *   - `{use: NAME, with: {...}}` list items expand in each edition's own document
 *     before merging, so fragment items can carry ids that merge.
 * An edition whose base is missing, cyclic or unreadable gets resolved == NULL; the
 * cause is reported once.
 */
void project_resolve(project *p);
/* The edition's strings: i18n/<locale>.yaml merged with its `strings:` overrides; key -> scalar. */
const node *edition_strings(project *p, const edition *e);

/* validate.c, check.c, policy.c: each reports into p->diag and returns the number of errors it found. */
int validate_edition(project *p, const edition *e, const char *schema_dir);
/* products.yaml against schemas/products.xsd, unique ids, exclusive_to naming editions; 0 without a catalogue. */
int validate_products(project *p, const char *schema_dir);
int check_edition(project *p, const edition *e);
int policy_edition(project *p, const edition *e);

#endif
