"""Discovery pages for people: /search (ranked hits, facets, chips, sorting, paging, advice
when nothing is found), the advanced search form, and the publication lists of things' pages
and of the browse listings, all answered by the text index (graph/search)."""
