"""3D spatial reasoning for vision-language models: scenes, renderer, questions, solver.

Import the submodules directly (nothing heavy is imported here):
  ponder.spatial.scene      SceneObject, PinholeCamera, Scene, JSON forms
  ponder.spatial.generate   SceneConfig, generate_scene
  ponder.spatial.render     render_scene, render_png
  ponder.spatial.families   FAMILIES, resolve_families
  ponder.spatial.questions  Question, make_question, generate_questions
  ponder.spatial.solver     solve, ExplicitSolver (oracle: answer(question) -> (letter, trace))
  ponder.spatial.export     export_dataset, circular_rows, TSV_COLUMNS
  ponder.spatial.cli        main (`ponder spatial ...`)
"""
