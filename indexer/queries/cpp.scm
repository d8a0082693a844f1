; C++ tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading /* */, // or /// comments (above `template <...>` too), found by the
; extractor. Namespaces are not part of qualified names (as Java packages are not), so a
; method reads the same defined in its class (`Square.area`) or out of it
; (`void shapes::Square::print() {}` is `Square.print`).

; --- definitions -------------------------------------------------------------

; Functions and methods defined in a class body, also when returning a pointer or reference.
(function_definition
  declarator: [(function_declarator
                 declarator: [(identifier) (field_identifier) (destructor_name)
                              (operator_name)] @name)
               (pointer_declarator
                 declarator: (function_declarator
                   declarator: [(identifier) (field_identifier) (destructor_name)
                                (operator_name)] @name))
               (pointer_declarator
                 declarator: (pointer_declarator
                   declarator: (function_declarator
                     declarator: [(identifier) (field_identifier) (destructor_name)
                                  (operator_name)] @name)))
               (reference_declarator
                 (function_declarator
                   declarator: [(identifier) (field_identifier) (destructor_name)
                                (operator_name)] @name))]) @definition.function

; Out-of-class definitions: `void Square::print() {}` and `void shapes::Square::print() {}`
; are Square.print (the innermost scope is the receiver).
(function_definition
  declarator: [(function_declarator
                 declarator: [(qualified_identifier
                                scope: (_) @receiver
                                name: [(identifier) (destructor_name) (operator_name)] @name)
                              (qualified_identifier
                                name: (qualified_identifier
                                  scope: (_) @receiver
                                  name: [(identifier) (destructor_name) (operator_name)] @name))
                              (qualified_identifier
                                name: (qualified_identifier
                                  name: (qualified_identifier
                                    scope: (_) @receiver
                                    name: [(identifier) (destructor_name) (operator_name)] @name)))])
               (pointer_declarator
                 declarator: (function_declarator
                   declarator: [(qualified_identifier
                                  scope: (_) @receiver
                                  name: [(identifier) (destructor_name) (operator_name)] @name)
                                (qualified_identifier
                                  name: (qualified_identifier
                                    scope: (_) @receiver
                                    name: [(identifier) (destructor_name) (operator_name)] @name))]))
               (reference_declarator
                 (function_declarator
                   declarator: [(qualified_identifier
                                  scope: (_) @receiver
                                  name: [(identifier) (destructor_name) (operator_name)] @name)
                                (qualified_identifier
                                  name: (qualified_identifier
                                    scope: (_) @receiver
                                    name: [(identifier) (destructor_name) (operator_name)] @name))]))]) @definition.function

; Classes, structs, unions and enums with a body (`template <> class Box<int>` is Box).
(class_specifier
  name: [(type_identifier) @name
         (template_type name: (type_identifier) @name)]
  body: (_)) @definition.class

(struct_specifier
  name: [(type_identifier) @name
         (template_type name: (type_identifier) @name)]
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
         (union_specifier !name body: (_))
         (class_specifier !name body: (_))]
  declarator: (type_identifier) @name) @definition.struct

(type_definition
  type: (enum_specifier !name body: (_))
  declarator: (type_identifier) @name) @definition.enum

; Other typedefs and aliases: `typedef unsigned long size;`, `using Map = std::map<K, V>;`.
(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier) (qualified_identifier)
         (template_type) (struct_specifier !body) (union_specifier !body)
         (enum_specifier !body) (class_specifier !body)]
  declarator: [(type_identifier) @name
               (pointer_declarator declarator: (type_identifier) @name)
               (array_declarator declarator: (type_identifier) @name)
               (function_declarator declarator: (type_identifier) @name)
               (function_declarator
                 declarator: (parenthesized_declarator
                   (pointer_declarator declarator: (type_identifier) @name)))]) @definition.type

(alias_declaration
  name: (type_identifier) @name) @definition.type

; --- inheritance ---------------------------------------------------------------
; `class Square : public geometry::Base, Printable, Box<T>` (a template base is its name,
; `ns::Box<T>` is `Box`).

([(class_specifier
    name: [(type_identifier) @name
           (template_type name: (type_identifier) @name)]
    (base_class_clause
      [(type_identifier) @base
       (qualified_identifier name: [(type_identifier) (qualified_identifier)]) @base
       (qualified_identifier name: (template_type name: (_) @base))
       (template_type name: (_) @base)]))
  (struct_specifier
    name: [(type_identifier) @name
           (template_type name: (type_identifier) @name)]
    (base_class_clause
      [(type_identifier) @base
       (qualified_identifier name: [(type_identifier) (qualified_identifier)]) @base
       (qualified_identifier name: (template_type name: (_) @base))
       (template_type name: (_) @base)]))] @inheritance)

; --- imports -------------------------------------------------------------------

; `#include <vector>` and `#include "shapes.hpp"`.
(preproc_include
  path: [(string_literal) (system_lib_string)] @import.source) @import

; --- calls ---------------------------------------------------------------------
; `f()`, `obj.f()`, `ptr->f()`, `ns::f()`, `std::make_unique<T>()`, `new Foo()`.

(call_expression
  function: [(identifier) @name
             (template_function name: (identifier) @name)
             (field_expression
               field: [(field_identifier) @name
                       (template_method name: (field_identifier) @name)
                       (dependent_name (template_method name: (field_identifier) @name))])
             (qualified_identifier
               name: [(identifier) @name
                      (template_function name: (identifier) @name)])
             (qualified_identifier
               name: (qualified_identifier
                 name: [(identifier) @name
                        (template_function name: (identifier) @name)]))
             (qualified_identifier
               name: (qualified_identifier
                 name: (qualified_identifier
                   name: [(identifier) @name
                          (template_function name: (identifier) @name)])))]) @reference.call

(new_expression
  type: [(type_identifier) @name
         (template_type name: (type_identifier) @name)
         (qualified_identifier
           name: [(type_identifier) @name
                  (template_type name: (type_identifier) @name)])
         (qualified_identifier
           name: (qualified_identifier
             name: [(type_identifier) @name
                    (template_type name: (type_identifier) @name)]))]) @reference.call
