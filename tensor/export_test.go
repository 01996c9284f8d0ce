package tensor

import "unsafe"

func unsafePointer(s []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }
