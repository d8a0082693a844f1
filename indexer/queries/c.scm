; C tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading /* */ or // comments, found by the extractor.

; --- definitions -------------------------------------------------------------

; Function definitions (not prototypes), including those returning pointers.
(function_definition
  declarator: [(function_declarator
                 declarator: (identifier) @name)
               (pointer_declarator
                 declarator: (function_declarator
                   declarator: (identifier) @name))
               (pointer_declarator
                 declarator: (pointer_declarator
                   declarator: (function_declarator
                     declarator: (identifier) @name)))]) @definition.function

; `struct square { ... }`, unions and enums with a body.
(struct_specifier
  name: (type_identifier) @name
  body: (_)) @definition.struct

(union_specifier
  name: (type_identifier) @name
  body: (_)) @definition.struct

(enum_specifier
  name: (type_identifier) @name
  body: (_)) @definition.enum

; `typedef struct { ... } shape;`: an anonymous body named by its typedef.
(type_definition
  type: [(struct_specifier !name body: (_))
         (union_specifier !name body: (_))]
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (enum_specifier !name body: (_))
  declarator: (type_identifier) @name) @definition.enum

; Other typedefs: `typedef unsigned long size;`, `typedef struct node *link;`,
; `typedef double (*area_fn)(const shape *);`. (A typedef of a named body defines the
; struct above; its alias is not a separate definition.)
(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier) (macro_type_specifier)
         (struct_specifier !body) (union_specifier !body) (enum_specifier !body)]
  declarator: [(type_identifier) @name
               (pointer_declarator declarator: (type_identifier) @name)
               (array_declarator declarator: (type_identifier) @name)
               (function_declarator declarator: (type_identifier) @name)
               (function_declarator
                 declarator: (parenthesized_declarator
                   (pointer_declarator declarator: (type_identifier) @name)))]) @definition.type

; --- imports -------------------------------------------------------------------

; `#include <math.h>` and `#include "shapes.h"`.
(preproc_include
  path: [(string_literal) (system_lib_string)] @import.source) @import

; --- calls ---------------------------------------------------------------------

(call_expression
  function: [(identifier) @name
             (field_expression field: (field_identifier) @name)
             (parenthesized_expression (identifier) @name)
             (parenthesized_expression (pointer_expression argument: (identifier) @name))]) @reference.call
