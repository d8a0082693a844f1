; inherits: typescript
; TSX tags: the TypeScript patterns (inherited above) plus JSX, which the typescript
; grammar does not have. Capture names: see README.md in this folder.


; JSX elements are calls of their (capitalized) component: `<Button />`, `<UI.Button>`.
((jsx_opening_element
   name: [(identifier) @name
          (member_expression property: (property_identifier) @name)])
  (#match? @name "^[A-Z]")) @reference.call

((jsx_self_closing_element
   name: [(identifier) @name
          (member_expression property: (property_identifier) @name)])
  (#match? @name "^[A-Z]")) @reference.call
