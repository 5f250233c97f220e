/* The static sbx-init program, embedded in libsbx (see image.c). */
	.section .rodata.sbx_init,"a"
	.balign 64
	.globl sbx_init_image
	.hidden sbx_init_image
	.type sbx_init_image, %object
sbx_init_image:
	.incbin SBX_INIT_PATH
	.globl sbx_init_image_end
	.hidden sbx_init_image_end
sbx_init_image_end:
	.section .note.GNU-stack,"",%progbits
