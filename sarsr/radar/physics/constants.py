"""Physical constants (SI units)."""

#: Speed of light in vacuum (m/s).
C0 = 299_792_458.0
