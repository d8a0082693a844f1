; Rust tags. Capture names are navbot's convention (see README.md in this folder).
; Docs are the leading /// comments (attributes between them and the item are skipped),
; found by the extractor.

; --- definitions -------------------------------------------------------------

(function_item
  name: (identifier) @name) @definition.function

; Methods declared by a trait: `fn area(&self) -> f64;`.
(function_signature_item
  name: (identifier) @name) @definition.function

(struct_item
  name: (type_identifier) @name) @definition.struct

(union_item
  name: (type_identifier) @name) @definition.struct

(enum_item
  name: (type_identifier) @name) @definition.enum

(trait_item
  name: (type_identifier) @name) @definition.trait

(type_item
  name: (type_identifier) @name) @definition.type

; `mod m { ... }`; `mod m;` is an import of m.rs (below).
(mod_item
  name: (identifier) @name
  body: (declaration_list)) @definition.module

; `impl Square { ... }` and `impl Shape for Square { ... }` qualify their functions by the
; type: Square.area.
(impl_item
  type: (_) @name) @scope

; --- inheritance ---------------------------------------------------------------

; `impl Shape for Square` makes Square a Shape (the extractor finds the type by name).
(impl_item
  trait: [(type_identifier) @base
          (scoped_type_identifier) @base
          (generic_type type: (_) @base)]
  type: (_) @name) @inheritance

; Supertraits: `trait Shape: Debug + fmt::Display`.
(trait_item
  name: (type_identifier) @name
  bounds: (trait_bounds
    [(type_identifier) @base
     (scoped_type_identifier) @base
     (generic_type type: (_) @base)])) @inheritance

; --- imports -------------------------------------------------------------------

; `use std::collections::HashMap;`, `use foo;`, `use a::b as c;`.
(use_declaration
  argument: [(identifier) @import.source
             (scoped_identifier) @import.source
             (crate) @import.source
             (self) @import.source
             (super) @import.source
             (use_as_clause path: (_) @import.source)]) @import

; `use crate::geometry::{self, scale, Point as P};` -> source `crate::geometry`, names
; `self`, `scale`, `Point` (a nested list `e::{f, g}` gives the name `e`).
(use_declaration
  argument: (scoped_use_list
    path: (_) @import.source
    list: (use_list
      [(identifier) @import.name
       (scoped_identifier) @import.name
       (self) @import.name
       (super) @import.name
       (crate) @import.name
       (use_as_clause path: (_) @import.name)
       (scoped_use_list path: (_) @import.name)
       (use_wildcard) @import.name]))) @import

(use_declaration
  argument: (scoped_use_list
    path: (_) @import.source
    list: (use_list))) @import

; `use super::units::*;` -> source `super::units`, names `*`.
(use_declaration
  argument: (use_wildcard
    (_) @import.source
    "*" @import.name)) @import

; `mod render;` (the file render.rs or render/mod.rs) and `extern crate serde;`.
(mod_item
  !body
  name: (identifier) @import.source) @import

(extern_crate_declaration
  name: (identifier) @import.source) @import

; --- calls ---------------------------------------------------------------------
; `f()`, `x.f()`, `Type::f()`, `f::<T>()`; macro invocations are not calls.

(call_expression
  function: [(identifier) @name
             (field_expression field: (field_identifier) @name)
             (scoped_identifier name: (identifier) @name)
             (generic_function
               function: [(identifier) @name
                          (field_expression field: (field_identifier) @name)
                          (scoped_identifier name: (identifier) @name)])]) @reference.call

; A struct expression constructs its type: `Square { side }`, `shapes::Square { side }`.
((struct_expression
   name: [(type_identifier) @name
          (scoped_type_identifier name: (type_identifier) @name)
          (generic_type_with_turbofish type: (type_identifier) @name)])
  (#not-eq? @name "Self")) @reference.call
