//go:build !purego && !linux

package asm

func amxPermit() bool { return false } // AMX state is requested through Linux's arch_prctl only
