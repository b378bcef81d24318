"""The written agreement's pages: the editor (facts, matters in dispute, responsibilities,
terms, performance), the copy for signing on paper, and the record of each signature."""
