/*
 * xsd: the schemas under schemas/ (edition.xsd, components.xsd, products.xsd),
 * compiled for libxml2's validator and read as documents, so that validation
 * (validate.c) can say what the schema allows: the keys of a type, a key's
 * declaration, the built-in base and facets of a value, the <xs:appinfo> phrase
 * of a simple type, the names of the components.
 *
 * One set of schemas is loaded per process (the last schema directory asked
 * for) and kept for the next edition. xsd.c owns everything it returns: the
 * set, the compiled schemas, every declaration node and every string (names,
 * facets, phrases point into the schema documents); they stay valid until a
 * different directory is loaded. Callers never free them.
 *
 * Threads: xsd_load and the set's fields are used under xsd_lock; the other
 * functions only read a loaded set (their memo is vcache.c's, per thread) and
 * may be called on several threads at once, with no load in progress.
 */
#ifndef XSD_H
#define XSD_H

#include <libxml/tree.h>
#include <libxml/xmlschemas.h>
#include <stddef.h>

#include "diag.h"

#define XSD_MAX_NAMES 256
#define XSD_MAX_ENUMS 64

typedef enum xsd_kind { XSD_ELEMENT, XSD_ATTRIBUTE } xsd_kind;

typedef struct xsd_set {       /* public, read-only but for told */
	xmlSchemaPtr schema, products_schema;   /* edition.xsd, products.xsd */
	char *error;                /* why loading failed; NULL when loaded */
	char *products_error;       /* why products.xsd did not load (editions still can) */
	const diag_ctx *told;       /* the caller's: the diagnostics that already have that
				       error; NULL again when another directory is loaded */
} xsd_set;

void xsd_lock(void);
void xsd_unlock(void);

/* The schemas of dir, loaded on first use (under xsd_lock); never NULL. */
xsd_set *xsd_load(const char *dir);

/* Names the loaded set: answers remembered for another generation are stale. */
unsigned xsd_generation(void);

/* The names in the group "component", in schema order. */
const char *const *xsd_components(size_t *n);
int xsd_is_component(const char *name);
/* Whether a component's type lets it hold other components. */
int xsd_is_container(const char *component);

/* A global declaration of the given XSD kind ("element", "simpleType", ...), or NULL. */
const xmlNode *xsd_global(const char *kind, const char *qname);
/* The name of a local or referenced declaration of that kind, or NULL. */
const char *xsd_decl_name(const xmlNode *decl, const char *kind);
/* A declaration's type: a complexType or simpleType node, or NULL for a built-in type. */
const xmlNode *xsd_decl_type(const xmlNode *decl);
/* The declaration of a key allowed by a complex type, or NULL. */
const xmlNode *xsd_type_child(const xmlNode *type, xsd_kind kind, const char *name);

typedef struct xsd_names {     /* public */
	const char *names[XSD_MAX_NAMES];
	size_t n_names;
} xsd_names;

/* Every key a complex type allows; with only_required, the required keys of that kind. */
void xsd_type_names(const xmlNode *type, xsd_names *out, int only_required, xsd_kind kind);
/* A list-like type: no attributes, a repeated content (maps of <entry> are maps). */
int xsd_type_is_list(const xmlNode *type);

/*
 * The declaration of an item called name of a list type whose items may be left
 * out of the document when known clean: the schema's validity is local (no
 * identity constraints, no ID/IDREF) and the type's whole content is one
 * optional, unbounded particle. NULL otherwise.
 */
const xmlNode *xsd_list_item_decl(const xmlNode *type, const char *name);

typedef struct xsd_simple_info {   /* public */
	const char *builtin;        /* local name of the xs: type at the root of the chain */
	const char *phrase;         /* <xs:appinfo> of the nearest type that has one */
	const char *min, *max, *pattern, *min_len, *max_len;
	const char *enums[XSD_MAX_ENUMS];
	size_t n_enums;
} xsd_simple_info;

/* What the schema says about a simple value: facets of the most derived type win. */
void xsd_simple_info_of(const xmlNode *decl, xsd_simple_info *si);
/* 'i' integers, 'd' other numbers, 'b' booleans, 's' anything else. */
char xsd_builtin_class(const char *builtin);

#endif
