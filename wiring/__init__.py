"""How ``__main__.py`` turns the validated stack config into components: ``load`` reads and
checks everything first (C1), then one ``build_*`` function per component wires it from the
config and the components it depends on, ordering and protection through ``ResourceOptions``.
"""
