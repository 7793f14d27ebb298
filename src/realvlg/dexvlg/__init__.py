"""DexVLG (paper: ../shared/papers/dexvlg.md): language-instructed dexterous grasps with a Shadow Hand on a UR10e."""
