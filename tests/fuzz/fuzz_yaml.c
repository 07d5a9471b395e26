/*
 * fuzz_yaml: the compiler's front end on one edition file.
 *
 * Per input: a fresh project loads the small fixed project in
 * tests/fuzz/project/editions (a copy of the golden fixture plus a fragment),
 * then the input, read with read_yaml_text, replaces the document of the
 * edition it names with `edition:` (care when it names none that exists),
 * and the whole project is resolved, validated, checked and policed, as
 * `editionc check` does. The project and its arena are freed after each input,
 * so nothing carries over and leaks show.
 *
 * read.c keeps its post-read step (an edition must be a map; `abstract:`)
 * static, so it is repeated here in three lines.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"
#include "model.h"

static const char *project_dir;
static const char *schema_dir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	project_dir = fuzz_path("tests/fuzz/project/editions");
	schema_dir = fuzz_path("schemas");
	project *p = project_new();
	if (project_load(p, project_dir) < 0 || diag_errors(p->diag))
		fuzz_die("cannot load the project in '%s'", project_dir);
	project_free(p);
	return 0;
}

static edition *target_edition(project *p, const node *doc)
{
	const char *id = doc && doc->kind == NODE_MAP ? node_get_str(doc, "edition") : NULL;
	edition *e = id ? project_find(p, id) : NULL;
	return e ? e : project_find(p, "care");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	project *p = project_new();
	if (project_load(p, project_dir) < 0)
		fuzz_die("cannot load '%s'", project_dir);
	node *doc = read_yaml_text(p, "fuzz.yaml", (const char *)data, size);
	edition *e = target_edition(p, doc);
	if (!e)
		fuzz_die("the project has no edition 'care'");
	e->doc = doc && doc->kind == NODE_MAP ? doc : NULL;
	int flag = 0;
	if (e->doc && node_as_bool(node_get(e->doc, "abstract"), &flag) == 0 && flag)
		e->abstract = 1;
	project_resolve(p);
	for (size_t i = 0; i < p->n_editions; i++) {
		const edition *x = p->editions[i];
		validate_edition(p, x, schema_dir);
		if (x->abstract || !x->resolved)
			continue;
		check_edition(p, x);
		policy_edition(p, x);
	}
	/* the diagnostics are printed too: their quoting of lines reads the input */
	FILE *devnull = fopen("/dev/null", "w");
	if (devnull) {
		diag_print(p->diag, devnull, DIAG_TEXT, 0);
		diag_print(p->diag, devnull, DIAG_JSON, 0);
		fclose(devnull);
	}
	project_free(p);
	return 0;
}
