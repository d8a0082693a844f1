; Python tags. Capture names are navbot's convention (see README.md in this folder).

(class_definition
  name: (identifier) @name) @definition.class

(function_definition
  name: (identifier) @name) @definition.function

(class_definition
  name: (identifier) @name
  superclasses: (argument_list
    [(identifier) (attribute)] @base)) @inheritance

(module . (expression_statement (string) @doc))
(class_definition body: (block . (expression_statement (string) @doc)))
(function_definition body: (block . (expression_statement (string) @doc)))

(import_statement
  name: [(dotted_name) @import.source
         (aliased_import name: (dotted_name) @import.source)]) @import

(import_from_statement
  module_name: [(dotted_name) (relative_import)] @import.source
  name: [(dotted_name) @import.name
         (aliased_import name: (dotted_name) @import.name)]) @import

(import_from_statement
  module_name: [(dotted_name) (relative_import)] @import.source
  (wildcard_import) @import.name) @import

(call
  function: [(identifier) @name
             (attribute attribute: (identifier) @name)]) @reference.call

(decorator [(identifier) @name
            (attribute attribute: (identifier) @name)
            (call function: [(identifier) @name
                             (attribute attribute: (identifier) @name)])]) @reference.call
